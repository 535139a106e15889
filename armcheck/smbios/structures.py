"""SMBIOS entry points and the structure table walk.

Layouts follow the DMTF System Management BIOS Reference Specification 3.7
(DSP0134). It defines the 32-bit entry point `_SM_` (section 5.2.1) with its
intermediate `_DMI_` anchor and the 64-bit entry point `_SM3_` (5.2.2). Each
structure is a formatted area (type, length, handle, fields) followed by a
string set, which is NUL-terminated strings ended by one more NUL. A string
field contains the 1-based number of a string in the set, and 0 means none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from armcheck.errors import InputFormatError

END_OF_TABLE = 127


def _sum_ok(data: bytes) -> bool:
    return sum(data) % 256 == 0


@dataclass
class EntryPoint:
    """An SMBIOS entry point."""

    kind: str  # "64-bit" or "32-bit"
    major: int
    minor: int
    docrev: int | None
    checksum_ok: bool
    table_address: int
    table_length: int  # the exact length (32-bit) or maximum size (64-bit)
    structure_count: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"


def decode_entry_point(data: bytes, origin: str = "input") -> EntryPoint:
    """Decode a `_SM3_` or `_SM_` entry point; raise InputFormatError for anything else."""
    if data[:5] == b"_SM3_" and len(data) >= 24:
        length = data[6]
        problems = []
        checksum_ok = len(data) >= length and _sum_ok(data[:length])
        if not checksum_ok:
            problems.append("64-bit entry point checksum is wrong")
        return EntryPoint(
            kind="64-bit",
            major=data[7],
            minor=data[8],
            docrev=data[9],
            checksum_ok=checksum_ok,
            table_address=int.from_bytes(data[16:24], "little"),
            table_length=int.from_bytes(data[12:16], "little"),
            problems=problems,
        )
    if data[:4] == b"_SM_" and len(data) >= 31:
        length = data[5]
        problems = []
        checksum_ok = len(data) >= length and _sum_ok(data[:length])
        if not checksum_ok:
            problems.append("32-bit entry point checksum is wrong")
        if data[16:21] != b"_DMI_" or not _sum_ok(data[16:31]):
            problems.append("intermediate _DMI_ anchor or its checksum is wrong")
        return EntryPoint(
            kind="32-bit",
            major=data[6],
            minor=data[7],
            docrev=None,
            checksum_ok=checksum_ok and not problems,
            table_address=int.from_bytes(data[24:28], "little"),
            table_length=int.from_bytes(data[22:24], "little"),
            structure_count=int.from_bytes(data[28:30], "little"),
            problems=problems,
        )
    raise InputFormatError(
        f"{origin}: no SMBIOS entry point here; expected '_SM3_' (24 bytes) or '_SM_' "
        f"(31 bytes), got {data[:5]!r}"
    )


@dataclass
class Structure:
    """One SMBIOS structure: its formatted area and its strings.

    `problem` describes how a structure at the end of the bytes is cut short,
    and is None for a whole structure. A cut structure keeps the bytes and the
    whole strings that are present.
    """

    type: int
    handle: int
    formatted: bytes
    strings: list[str]
    offset: int
    problem: str | None = None

    @property
    def length(self) -> int:
        """The length of the formatted area, as the structure header states it."""
        return self.formatted[1]

    def string(self, field_offset: int) -> str | None:
        """Return the string a string-number field names; None when unset or out of range."""
        if field_offset >= len(self.formatted):
            return None
        number = self.formatted[field_offset]
        if number == 0 or number > len(self.strings):
            return None
        return self.strings[number - 1].strip()

    def byte(self, field_offset: int) -> int | None:
        if field_offset >= len(self.formatted):
            return None
        return self.formatted[field_offset]

    def word(self, field_offset: int) -> int | None:
        if field_offset + 2 > len(self.formatted):
            return None
        return int.from_bytes(self.formatted[field_offset : field_offset + 2], "little")

    def field_problem(self, field_offset: int, size: int = 1) -> str | None:
        """Describe why a field that the stated length includes cannot be read; None if it can.

        A field past the stated length is not in this structure's version, which
        is not an error: `byte`, `word` and `string` return None for it.
        """
        if field_offset + size <= self.length and field_offset + size > len(self.formatted):
            return (
                f"field at offset 0x{field_offset:02X} is past the "
                f"{len(self.formatted)} bytes present"
            )
        return None

    def string_problem(self, field_offset: int) -> str | None:
        """Describe why a string-number field cannot be read; None when it can, or is unset."""
        problem = self.field_problem(field_offset)
        if problem is not None:
            return problem
        number = self.byte(field_offset)
        if number is not None and number > len(self.strings):
            return (
                f"field at offset 0x{field_offset:02X} names string {number}, "
                f"but only {len(self.strings)} strings are present"
            )
        return None


@dataclass
class StructureTable:
    """The structures read from an SMBIOS structure table and the problems found.

    `complete` is true when the walk read a whole End-of-Table structure, so
    the structures are all those of the table. `size` is the number of table
    bytes that were walked.
    """

    structures: list[Structure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    complete: bool = False
    size: int = 0

    @property
    def types(self) -> list[int]:
        return sorted({structure.type for structure in self.structures})

    def of_type(self, kind: int) -> list[Structure]:
        return [structure for structure in self.structures if structure.type == kind]


def walk_structures(data: bytes) -> StructureTable:
    """Read the structures of a structure table until type 127, the end, or a broken one.

    A structure cut short by the end of `data` is kept, with its `problem` set.
    """
    table = StructureTable(size=len(data))
    offset = 0
    while offset + 4 <= len(data):
        kind = data[offset]
        length = data[offset + 1]
        handle = int.from_bytes(data[offset + 2 : offset + 4], "little")
        if length < 4:
            table.problems.append(f"structure at offset {offset} has an invalid length {length}")
            return table
        if offset + length > len(data):
            problem = (
                f"structure type {kind} at offset {offset} is cut short: length {length}, "
                f"only {len(data) - offset} bytes present"
            )
            _add_cut(table, Structure(kind, handle, data[offset:], [], offset), problem)
            return table
        end = data.find(b"\x00\x00", offset + length)
        if end < 0:
            # Only the strings before the last NUL are whole.
            whole = data[offset + length :].split(b"\x00")[:-1]
            problem = f"strings of structure type {kind} at offset {offset} are cut short"
            structure = Structure(
                kind, handle, data[offset : offset + length], _decode(whole), offset
            )
            _add_cut(table, structure, problem)
            return table
        strings = _decode(data[offset + length : end].split(b"\x00"))
        table.structures.append(
            Structure(kind, handle, data[offset : offset + length], strings, offset)
        )
        offset = end + 2
        if kind == END_OF_TABLE:
            # The End-of-Table structure is 4 bytes long; another length means
            # the walk is off track (an ELF file starts with type 127, length 0x45).
            if length == 4:
                table.complete = True
            else:
                table.problems.append(
                    f"End-of-Table structure at offset {table.structures[-1].offset} has "
                    f"length {length}, not 4"
                )
            return table
    if offset < len(data) and any(data[offset:]):
        table.problems.append(f"{len(data) - offset} bytes after the last structure")
    table.problems.append("the table ends without an End-of-Table (type 127) structure")
    return table


def _decode(raw_strings: list[bytes]) -> list[str]:
    return [raw.decode("utf-8", "replace") for raw in raw_strings if raw]


def _add_cut(table: StructureTable, structure: Structure, problem: str) -> None:
    structure.problem = problem
    table.structures.append(structure)
    table.problems.append(problem)


# Chassis types (SMBIOS 3.7, section 7.4.1), as dmidecode names them.
CHASSIS_TYPES = {
    1: "Other",
    2: "Unknown",
    3: "Desktop",
    4: "Low Profile Desktop",
    5: "Pizza Box",
    6: "Mini Tower",
    7: "Tower",
    8: "Portable",
    9: "Laptop",
    10: "Notebook",
    11: "Hand Held",
    12: "Docking Station",
    13: "All In One",
    14: "Sub Notebook",
    15: "Space-saving",
    16: "Lunch Box",
    17: "Main Server Chassis",
    18: "Expansion Chassis",
    19: "Sub Chassis",
    20: "Bus Expansion Chassis",
    21: "Peripheral Chassis",
    22: "RAID Chassis",
    23: "Rack Mount Chassis",
    24: "Sealed-case PC",
    25: "Multi-system",
    26: "CompactPCI",
    27: "AdvancedTCA",
    28: "Blade",
    29: "Blade Enclosing",
    30: "Tablet",
    31: "Convertible",
    32: "Detachable",
    33: "IoT Gateway",
    34: "Embedded PC",
    35: "Mini PC",
    36: "Stick PC",
}


# String fields of the first structure of types 0 to 2:
# (structure type, fact key, {fact field: offset of its string number}).
_STRING_FACTS = (
    (0, "smbios.bios", {"vendor": 4, "version": 5, "release_date": 8}),
    (1, "smbios.system", {"manufacturer": 4, "product": 5, "version": 6, "serial": 7}),
    (2, "smbios.baseboard", {"manufacturer": 4, "product": 5, "version": 6}),
)


def describe(table: StructureTable) -> dict[str, Any]:
    """Return the fact values of types 0 to 4, keyed by fact key, for the types present.

    A value leaves out each field that a cut or damaged structure does not give,
    and lists why under `problems`.
    """
    values: dict[str, Any] = {}
    for structure_type, key, offsets in _STRING_FACTS:
        structures = table.of_type(structure_type)
        if structures:
            reader = _FieldReader(structures[0])
            for name, offset in offsets.items():
                reader.string(name, offset)
            values[key] = reader.result()

    chassis = table.of_type(3)
    if chassis:
        reader = _FieldReader(chassis[0])
        reader.string("manufacturer", 4)
        if reader.readable("type", 5):
            kind = chassis[0].byte(5)
            # Bit 7 is the lock flag; the low 7 bits are the chassis type.
            reader.value["type"] = (
                None if kind is None else CHASSIS_TYPES.get(kind & 0x7F, f"0x{kind & 0x7F:02X}")
            )
        values["smbios.chassis"] = reader.result()

    processors = table.of_type(4)
    if processors:
        values["smbios.processor"] = [_processor(structure) for structure in processors]
    return values


class _FieldReader:
    """Builder of one structure's fact value: the fields it can read and the problems found."""

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self.value: dict[str, Any] = {}
        self.problems = [structure.problem] if structure.problem else []

    def readable(self, name: str, field_offset: int, size: int = 1) -> bool:
        problem = self.structure.field_problem(field_offset, size)
        if problem is not None:
            self.problems.append(f"{name}: {problem}")
        return problem is None

    def string(self, name: str, field_offset: int) -> None:
        problem = self.structure.string_problem(field_offset)
        if problem is None:
            self.value[name] = self.structure.string(field_offset)
        else:
            self.problems.append(f"{name}: {problem}")

    def result(self) -> dict[str, Any]:
        if self.problems:
            self.value["problems"] = self.problems
        return self.value


def _processor(structure: Structure) -> dict[str, Any]:
    reader = _FieldReader(structure)
    reader.string("socket", 4)
    reader.string("manufacturer", 7)
    reader.string("version", 0x10)
    # Core and thread counts of 0xFF mean "see the 16-bit Core Count 2 / Thread
    # Count 2 fields" (SMBIOS 3.0 and later, offsets 0x2A and 0x2E).
    for name, offset, wide_offset in (("cores", 0x23, 0x2A), ("threads", 0x25, 0x2E)):
        if not reader.readable(name, offset):
            continue
        count = structure.byte(offset)
        if count == 0xFF:
            if not reader.readable(name, wide_offset, 2):
                continue
            count = structure.word(wide_offset) or count
        reader.value[name] = count or None
    return reader.result()
