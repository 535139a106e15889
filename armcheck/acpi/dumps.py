"""Readers for hex and base64 dumps of tables: UEFI shell `dmem`, `acpidump`, Linux dumps.

Formats read here:

- UEFI shell `dmem ADDRESS LENGTH` (edk2 ShellPkg): a `Memory Address
  000000007C430018 24 Bytes` line, then lines of up to 16 bytes such as
  `  7C430018: 52 53 44 20 50 54 52 20-50 42 4F 43 48 53 20 02  *RSD PTR PBOCHS .*`.
  `dmem` with no address dumps the EFI system table and then prints the
  configuration table pointers (`ACPI 2.0 Table   000000007C430018`).
- `acpidump` text: a `FACP @ 0x00000000FFFF0000` line per table, then lines of
  `  0000: 46 41 43 50 ...  FACP....` with offsets into the table.
- `hexdump -C` output (`00000000  53 50 43 52 ...  |SPCR....|`) and runs of
  base64 lines, as printed by `base64 /sys/firmware/acpi/tables/SPCR`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from armcheck.transcript import Line

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_OFFSET = re.compile(r"^\s*(?:0x)?([0-9A-Fa-f]{4,16})(?::\s|\s\s)")
_HEX_PAIR = re.compile(r"\b[0-9A-Fa-f]{2}\b")
_DMEM_HEADER = re.compile(r"Memory Address\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+Bytes")
_ACPIDUMP_HEADER = re.compile(r"^\s*([A-Za-z0-9_!]{4}|RSD PTR)\s+@\s+0x([0-9A-Fa-f]+)\s*$")
_SYSTEM_TABLE_POINTER = re.compile(
    r"^\s*(ACPI 2\.0 Table|ACPI Table|SMBIOS3 Table|SMBIOS Table)\s+([0-9A-Fa-f]{8,16})\s*$"
)
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/]{4,}={0,2}$")
# xxd: `00000000: 5350 4352 5000 0000 02cb 424f 4348 5320  SPCRP.....BOCHS `,
# two bytes a group. od -Ax -tx1: `000000 53 50 43 52 ...`, with no text column.
_XXD_LINE = re.compile(r"^([0-9a-f]{8}): ((?:[0-9a-f]{4} ){0,7}[0-9a-f]{2}(?:[0-9a-f]{2})?) ")
_OD_LINE = re.compile(r"^([0-9a-f]{6,8}) ((?:[0-9a-f]{2} ){0,15}[0-9a-f]{2})\s*$")

SYSTEM_TABLE_KEYS = {
    "ACPI 2.0 Table": "acpi20",
    "ACPI Table": "acpi",
    "SMBIOS Table": "smbios",
    "SMBIOS3 Table": "smbios3",
}


@dataclass
class HexLine:
    """One hex dump line: the address or offset it starts at and its bytes."""

    offset: int
    data: bytes


def parse_hex_line(text: str) -> HexLine | None:
    """Parse one hex dump line of the `dmem`, `acpidump`, iasl, `hexdump -C`, xxd or od kinds."""
    grouped = _XXD_LINE.match(text) or _OD_LINE.match(text)
    if grouped is not None:
        return HexLine(int(grouped.group(1), 16), bytes.fromhex(grouped.group(2).replace(" ", "")))
    match = _OFFSET.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    for delimiter in ("*", "|", "//"):
        cut = rest.find(delimiter)
        if cut >= 0:
            data = _delimited_hex_bytes(rest[:cut])
            break
    else:
        data = _leading_hex_bytes(rest)
    if not data:
        return None
    return HexLine(int(match.group(1), 16), data)


def _delimited_hex_bytes(hex_part: str) -> bytes:
    # bytes.fromhex reads the usual case at C speed; anything odd in the
    # column falls back to picking out the byte pairs.
    try:
        data = bytes.fromhex(hex_part.replace("-", " "))
    except ValueError:
        data = bytes(int(pair, 16) for pair in _HEX_PAIR.findall(hex_part))
    return data[:16]


def _leading_hex_bytes(rest: str) -> bytes:
    # acpidump prints the ASCII column after two spaces with no delimiter, so
    # read byte pairs separated by one space or '-' and stop at a double space.
    rest = rest.lstrip(" ")
    out = bytearray()
    position = 0
    while len(out) < 16 and position + 2 <= len(rest):
        pair = rest[position : position + 2]
        if pair[0] not in _HEX_DIGITS or pair[1] not in _HEX_DIGITS:
            break
        after = rest[position + 2 : position + 3]
        if after and after not in " -":
            break
        out.append(int(pair, 16))
        position += 3
        if rest[position : position + 1] == " " and after == " ":
            break
    return bytes(out)


@dataclass
class MemoryBlock:
    """Contiguous bytes seen at an address, with the line of the dump that started them."""

    address: int
    data: bytearray
    line: Line | None = None


@dataclass
class MemoryImage:
    """Memory contents gathered from dumps; `read` is a memory reader for the RSDP walk."""

    blocks: list[MemoryBlock] = field(default_factory=list)
    lines: list[tuple[int, Line]] = field(default_factory=list)
    _last: MemoryBlock | None = None

    def add(self, address: int, data: bytes, line: Line | None = None) -> None:
        if line is not None:
            self.lines.append((address, line))
        # A later dump of the same memory (a table header, then the whole
        # table) overwrites and extends the block it overlaps or follows.
        # The block of the previous line is tried first, since dumps run on.
        candidates = [self._last] if self._last is not None else []
        for block in candidates + self.blocks:
            start = address - block.address
            if 0 <= start <= len(block.data):
                block.data[start : start + len(data)] = data
                self._last = block
                return
        self._last = MemoryBlock(address, bytearray(data), line)
        self.blocks.append(self._last)

    def read(self, address: int, length: int) -> bytes | None:
        for block in self.blocks:
            start = address - block.address
            if 0 <= start < len(block.data):
                return bytes(block.data[start : start + length])
        return None

    def line_at(self, address: int) -> Line | None:
        """Return the line of the latest dump that shows the byte at `address`."""
        for start, line in reversed(self.lines):
            if start <= address < start + 16:
                return line
        return None


@dataclass
class DmemDump:
    """Everything read from UEFI shell `dmem` output."""

    memory: MemoryImage = field(default_factory=MemoryImage)
    # Configuration table pointers from `dmem` of the system table: key -> (address, line).
    pointers: dict[str, tuple[int, Line]] = field(default_factory=dict)


def read_dmem(lines: Iterable[Line]) -> DmemDump:
    """Collect `dmem` hex dumps and system table pointers from console lines.

    Hex lines only count after a `Memory Address` header, so other hex-looking
    output in the log is not taken for memory.
    """
    dump = DmemDump()
    expected_address: int | None = None
    for line in lines:
        text = line.text
        if "Memory Address" in text:
            header = _DMEM_HEADER.search(text)
            if header is not None:
                expected_address = int(header.group(1), 16)
                continue
        if " Table " in text:
            pointer = _SYSTEM_TABLE_POINTER.match(text)
            if pointer is not None:
                key = SYSTEM_TABLE_KEYS[pointer.group(1)]
                dump.pointers[key] = (int(pointer.group(2), 16), line)
                continue
        if expected_address is None:
            continue
        hex_line = parse_hex_line(text)
        if hex_line is None:
            if text.strip():
                expected_address = None
            continue
        # edk2's DumpHex prints each line's address with %08X, which PrintLib
        # reads as 32 bits, so memory above 4 GiB shows only its low half.
        # The header line prints all 64 bits, so count on from there.
        address = hex_line.offset
        if address == expected_address & 0xFFFFFFFF:
            address = expected_address
        dump.memory.add(address, hex_line.data, line)
        expected_address = address + len(hex_line.data)
    return dump


@dataclass
class DumpedTable:
    """Bytes of one table from a text dump, with the line where its dump started."""

    name: str
    address: int | None
    data: bytes
    line: Line | None


def read_acpidump(lines: Iterable[Line]) -> list[DumpedTable]:
    """Collect the tables of `acpidump` text output."""
    tables: list[DumpedTable] = []
    current: DumpedTable | None = None
    buffer = bytearray()
    for line in lines:
        header = _ACPIDUMP_HEADER.match(line.text)
        if header is not None:
            if current is not None:
                current.data = bytes(buffer)
                tables.append(current)
            name = "RSDP" if header.group(1) == "RSD PTR" else header.group(1)
            # acpidump prints address 0 for a table it read without its address (seen
            # with acpidump 20200925 on Debian 12, which reads /sys/firmware/acpi/tables).
            address = int(header.group(2), 16) or None
            current = DumpedTable(name, address, b"", line)
            buffer = bytearray()
            continue
        if current is None:
            continue
        hex_line = parse_hex_line(line.text)
        if hex_line is not None and hex_line.offset == len(buffer):
            buffer.extend(hex_line.data)
    if current is not None:
        current.data = bytes(buffer)
        tables.append(current)
    return tables


def read_hex_runs(lines: Iterable[Line]) -> Iterator[DumpedTable]:
    """Yield runs of hex dump lines whose offsets start at 0 and follow on (`hexdump -C`)."""
    buffer = bytearray()
    first: Line | None = None
    for line in lines:
        hex_line = parse_hex_line(line.text)
        if hex_line is not None and hex_line.offset == len(buffer):
            if not buffer:
                first = line
            buffer.extend(hex_line.data)
            continue
        if hex_line is not None and hex_line.offset == 0:
            if buffer:
                yield DumpedTable("hex", None, bytes(buffer), first)
            buffer = bytearray(hex_line.data)
            first = line
            continue
        if buffer and line.text.strip() != "*":
            yield DumpedTable("hex", None, bytes(buffer), first)
            buffer = bytearray()
    if buffer:
        yield DumpedTable("hex", None, bytes(buffer), first)


def read_base64_runs(lines: Iterable[Line], min_length: int = 36) -> Iterator[DumpedTable]:
    """Yield the decoded bytes of each run of base64 lines at least `min_length` bytes long."""
    run: list[str] = []
    first: Line | None = None
    for line in lines:
        text = line.text.strip()
        if _BASE64_LINE.match(text) and not text.isdigit():
            if not run:
                first = line
            run.append(text)
            if text.endswith("="):
                yield from _decode_run(run, first, min_length)
                run = []
            continue
        if run:
            yield from _decode_run(run, first, min_length)
            run = []
    if run:
        yield from _decode_run(run, first, min_length)


def _decode_run(run: list[str], first: Line | None, min_length: int) -> Iterator[DumpedTable]:
    try:
        data = base64.b64decode("".join(run), validate=True)
    except (binascii.Error, ValueError):
        return
    if len(data) >= min_length:
        yield DumpedTable("base64", None, data, first)
