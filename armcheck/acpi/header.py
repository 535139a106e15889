"""The ACPI system description table header, checksums and generic address structures.

Layouts follow the ACPI Specification 6.5 (section 5.2.6, System Description
Table Header; 5.2.3.2, Generic Address Structure). Every table except the
FACS starts with the same 36-byte header, and all bytes of a table, including
the checksum byte, add up to zero modulo 256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from armcheck.errors import InputFormatError

HEADER_LENGTH = 36
# ACPICA accepts upper-case letters, digits, `_` and `!` in table signatures.
_SIGNATURE_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_!")


def read_uint(data: bytes, offset: int, size: int) -> int | None:
    """Read a little-endian unsigned integer, or None when it lies past the end of `data`."""
    if offset < 0 or offset + size > len(data):
        return None
    return int.from_bytes(data[offset : offset + size], "little")


def read_text(data: bytes, offset: int, size: int) -> str | None:
    """Read a fixed-width ASCII field with trailing NULs and spaces removed."""
    if offset < 0 or offset + size > len(data):
        return None
    raw = data[offset : offset + size].split(b"\x00", 1)[0]
    return raw.decode("ascii", "replace").rstrip(" ")


def byte_sum_ok(data: bytes) -> bool:
    """Return True when the bytes add up to zero modulo 256, as ACPI checksums require."""
    return sum(data) % 256 == 0


def is_signature(raw: bytes) -> bool:
    """Return True for four bytes that can be an ACPI table signature."""
    return len(raw) == 4 and all(byte in _SIGNATURE_CHARS for byte in raw)


@dataclass(frozen=True)
class GenericAddress:
    """An ACPI Generic Address Structure (12 bytes)."""

    space_id: int
    bit_width: int
    bit_offset: int
    access_size: int
    address: int

    def to_json(self) -> dict[str, int]:
        return {
            "space_id": self.space_id,
            "bit_width": self.bit_width,
            "bit_offset": self.bit_offset,
            "access_size": self.access_size,
            "address": self.address,
        }


def read_generic_address(data: bytes, offset: int) -> GenericAddress | None:
    """Read a Generic Address Structure, or None when its 12 bytes are not all there."""
    if offset < 0 or offset + 12 > len(data):
        return None
    return GenericAddress(
        space_id=data[offset],
        bit_width=data[offset + 1],
        bit_offset=data[offset + 2],
        access_size=data[offset + 3],
        address=int.from_bytes(data[offset + 4 : offset + 12], "little"),
    )


@dataclass
class AcpiTable:
    """One ACPI table: its header fields, the bytes that were available, and the problems found.

    `data` contains at most `length` bytes, and fewer when the input was cut
    short. `checksum_ok` is None when the whole table was not available, or
    when the bytes were rebuilt from a disassembly rather than read.
    """

    signature: str
    length: int
    revision: int
    checksum: int
    checksum_ok: bool | None
    oem_id: str
    oem_table_id: str
    oem_revision: int
    creator_id: str
    creator_revision: int
    data: bytes
    address: int | None = None
    problems: list[str] = field(default_factory=list)
    # Where the table starts in a file of several tables laid end to end.
    file_offset: int | None = None

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.length

    def summary(self) -> dict[str, Any]:
        """Return the value of an `acpi.table` fact.

        A header field whose bytes are past the end of `data` (a disassembly
        that ends inside the header) is left out.
        """
        fields = {
            "signature": (self.signature, 4),
            "revision": (self.revision, 9),
            "length": (self.length, 8),
            "oem_id": (self.oem_id, 16),
            "oem_table_id": (self.oem_table_id, 24),
        }
        value = {name: field for name, (field, end) in fields.items() if end <= len(self.data)}
        value["address"] = self.address
        value["checksum_ok"] = self.checksum_ok
        if self.file_offset is not None:
            value["file_offset"] = self.file_offset
        return value


def decode_table(data: bytes, address: int | None = None, origin: str = "input") -> AcpiTable:
    """Decode the header of the ACPI table at the start of `data`.

    Raises InputFormatError when `data` does not start with a table header at
    all (under 8 bytes, or a signature that is not four letters or digits). A
    header cut short, a length field that disagrees with the bytes present, or
    a bad checksum is recorded in `problems` instead.
    """
    if len(data) >= 4 and data[:4] == b"FACS":
        return _decode_facs(data, address, origin)
    if len(data) < 8:
        raise InputFormatError(
            f"{origin}: {len(data)} bytes is too short for an ACPI table header "
            f"({HEADER_LENGTH} bytes); pass a whole table"
        )
    if not is_signature(data[:4]):
        raise InputFormatError(
            f"{origin}: {data[:4]!r} is not an ACPI table signature; expected four upper-case "
            "letters or digits such as FACP or SPCR at the start of the table"
        )
    length = int.from_bytes(data[4:8], "little")
    problems: list[str] = []
    signature = data[:4].decode("ascii")
    if len(data) < HEADER_LENGTH:
        # The fields past the cut are left out of the summary (see AcpiTable.summary).
        problems.append(f"cut inside its header: {len(data)} of {HEADER_LENGTH} bytes present")
        cut = data
        data = data + bytes(HEADER_LENGTH - len(data))
        return _header_table(data, cut, signature, length, None, address, problems)
    if length < HEADER_LENGTH:
        problems.append(f"length field {length} is shorter than the {HEADER_LENGTH}-byte header")
        body = data[:HEADER_LENGTH]
        checksum_ok: bool | None = None
    elif length > len(data):
        problems.append(f"truncated: length field {length}, only {len(data)} bytes present")
        body = data
        checksum_ok = None
    else:
        body = data[:length]
        checksum_ok = byte_sum_ok(body)
        if not checksum_ok:
            problems.append(
                f"checksum 0x{data[9]:02X} is wrong: the bytes add up to "
                f"0x{sum(body) % 256:02X}, not 0"
            )
    return _header_table(data, body, signature, length, checksum_ok, address, problems)


def _header_table(
    data: bytes,
    body: bytes,
    signature: str,
    length: int,
    checksum_ok: bool | None,
    address: int | None,
    problems: list[str],
) -> AcpiTable:
    """Build an AcpiTable from the header fields in `data` (36 bytes or more) and its `body`."""
    return AcpiTable(
        signature=signature,
        length=length,
        revision=data[8],
        checksum=data[9],
        checksum_ok=checksum_ok,
        oem_id=read_text(data, 10, 6) or "",
        oem_table_id=read_text(data, 16, 8) or "",
        oem_revision=int.from_bytes(data[24:28], "little"),
        creator_id=read_text(data, 28, 4) or "",
        creator_revision=int.from_bytes(data[32:36], "little"),
        data=body,
        address=address,
        problems=problems,
    )


def _decode_facs(data: bytes, address: int | None, origin: str) -> AcpiTable:
    # The FACS (ACPI 6.5 section 5.2.10) has its own layout: signature, length,
    # hardware signature, ... and its version at offset 32. It has no checksum.
    if len(data) < 8:
        raise InputFormatError(f"{origin}: {len(data)} bytes is too short for a FACS")
    length = int.from_bytes(data[4:8], "little")
    problems = []
    if length > len(data):
        problems.append(f"truncated: length field {length}, only {len(data)} bytes present")
    return AcpiTable(
        signature="FACS",
        length=length,
        revision=data[32] if len(data) > 32 else 0,
        checksum=0,
        checksum_ok=None,
        oem_id="",
        oem_table_id="",
        oem_revision=0,
        creator_id="",
        creator_revision=0,
        data=data[:length],
        address=address,
        problems=problems,
    )
