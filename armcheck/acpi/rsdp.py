"""The RSDP and the walk from it through the XSDT (or RSDT) to every table.

Layouts follow the ACPI Specification 6.5. The RSDP (section 5.2.5.3) starts
with "RSD PTR ", a checksum over its first 20 bytes, the OEM id, the revision
(0 for ACPI 1.0, 2 for ACPI 2.0 and later) and the 32-bit RSDT address.
Revision 2 adds its length, the 64-bit XSDT address and an extended checksum
over the whole structure. The XSDT (5.2.8) lists 64-bit table addresses and
the RSDT (5.2.7) 32-bit ones. No XSDT entry names the DSDT or the FACS, so
the walk follows the FADT to them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from armcheck.acpi.header import AcpiTable, byte_sum_ok, decode_table, read_text, read_uint
from armcheck.errors import InputFormatError

log = logging.getLogger(__name__)

RSDP_SIGNATURE = b"RSD PTR "
RSDP_V1_LENGTH = 20
RSDP_V2_LENGTH = 36

# A memory reader returns the bytes at (address, length): fewer when only a
# prefix is known, None when nothing at that address is known.
MemoryReader = Callable[[int, int], "bytes | None"]

# A table longer than this is taken as a corrupt length field, not read whole.
MAX_TABLE_LENGTH = 16 * 1024 * 1024


@dataclass
class Rsdp:
    """The Root System Description Pointer."""

    revision: int
    oem_id: str
    rsdt_address: int
    xsdt_address: int | None
    length: int | None
    checksum_ok: bool
    extended_checksum_ok: bool | None
    address: int | None = None
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the value of the `acpi.rsdp` fact."""
        return {
            "revision": self.revision,
            "oem_id": self.oem_id,
            "rsdt_address": self.rsdt_address,
            "xsdt_address": self.xsdt_address,
            "checksum_ok": self.checksum_ok,
            "extended_checksum_ok": self.extended_checksum_ok,
        }


def decode_rsdp(data: bytes, address: int | None = None, origin: str = "input") -> Rsdp:
    """Decode an RSDP; raise InputFormatError when `data` does not start with one."""
    if data[:8] != RSDP_SIGNATURE:
        raise InputFormatError(
            f"{origin}: no RSDP here; expected {RSDP_V1_LENGTH} or more bytes starting "
            f"with 'RSD PTR ', got {data[:8]!r}"
        )
    if len(data) < RSDP_V1_LENGTH:
        raise InputFormatError(
            f"{origin}: RSDP cut short: {len(data)} bytes, but an RSDP has at least "
            f"{RSDP_V1_LENGTH} ({RSDP_V2_LENGTH} from ACPI 2.0 on); pass the whole RSDP"
        )
    revision = data[15]
    problems: list[str] = []
    checksum_ok = byte_sum_ok(data[:RSDP_V1_LENGTH])
    if not checksum_ok:
        problems.append("RSDP checksum over the first 20 bytes is wrong")
    xsdt_address = None
    length = None
    extended_ok: bool | None = None
    if revision >= 2:
        length = read_uint(data, 20, 4)
        xsdt_address = read_uint(data, 24, 8)
        if length is None or xsdt_address is None:
            problems.append(f"truncated: revision {revision} RSDP needs 36 bytes, got {len(data)}")
        elif length < RSDP_V2_LENGTH or length > len(data):
            problems.append(f"RSDP length field {length} does not fit the {len(data)} bytes read")
            extended_ok = byte_sum_ok(data[:RSDP_V2_LENGTH]) if len(data) >= 36 else None
        else:
            extended_ok = byte_sum_ok(data[:length])
        if extended_ok is False:
            problems.append("RSDP extended checksum is wrong")
    return Rsdp(
        revision=revision,
        oem_id=read_text(data, 9, 6) or "",
        rsdt_address=int.from_bytes(data[16:20], "little"),
        xsdt_address=xsdt_address,
        length=length,
        checksum_ok=checksum_ok,
        extended_checksum_ok=extended_ok,
        address=address,
        problems=problems,
    )


def table_entries(table: AcpiTable) -> list[int]:
    """Return the table addresses listed in an XSDT (8 bytes each) or RSDT (4 bytes each)."""
    size = 8 if table.signature == "XSDT" else 4
    body = table.data[36:]
    return [
        int.from_bytes(body[offset : offset + size], "little")
        for offset in range(0, len(body) - size + 1, size)
    ]


@dataclass
class AcpiWalk:
    """What a walk from the RSDP found."""

    rsdp: Rsdp | None = None
    root: AcpiTable | None = None
    entries: list[int] = field(default_factory=list)
    tables: list[AcpiTable] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_table(read: MemoryReader, address: int) -> AcpiTable | None:
    """Read the table at `address` through `read`: the header first, then its whole length."""
    head = read(address, 36)
    if not head or len(head) < 8:
        return None
    length = int.from_bytes(head[4:8], "little")
    if 36 <= length <= MAX_TABLE_LENGTH:
        data = read(address, length) or head
    else:
        data = head
    try:
        return decode_table(data, address, f"table at 0x{address:X}")
    except InputFormatError as err:
        log.debug("no table at 0x%X: %s", address, err)
        return None


def walk_rsdp(read: MemoryReader, rsdp_address: int) -> AcpiWalk:
    """Walk RSDP -> XSDT (RSDT when there is no XSDT) -> tables, plus the FADT's DSDT and FACS.

    Records what cannot be read in `problems` and goes on with the rest.
    """
    walk = AcpiWalk()
    data = read(rsdp_address, RSDP_V2_LENGTH)
    if not data:
        walk.problems.append(f"RSDP at 0x{rsdp_address:X} was not dumped")
        return walk
    try:
        walk.rsdp = decode_rsdp(data, rsdp_address, f"RSDP at 0x{rsdp_address:X}")
    except InputFormatError as err:
        walk.problems.append(str(err))
        return walk

    root_address = walk.rsdp.xsdt_address or walk.rsdp.rsdt_address
    if not root_address:
        walk.problems.append("the RSDP names neither an XSDT nor an RSDT")
        return walk
    walk.root = read_table(read, root_address)
    if walk.root is None:
        walk.problems.append(f"root table at 0x{root_address:X} was not dumped")
        return walk
    walk.tables.append(walk.root)
    walk.entries = table_entries(walk.root)

    for address in walk.entries:
        if address == 0:
            walk.problems.append(f"{walk.root.signature} has a zero entry")
            continue
        table = read_table(read, address)
        if table is None:
            walk.problems.append(f"table at 0x{address:X} was not dumped")
            continue
        walk.tables.append(table)
        if table.signature == "FACP":
            _follow_fadt(read, table, walk)
    return walk


def _follow_fadt(read: MemoryReader, fadt: AcpiTable, walk: AcpiWalk) -> None:
    # X_DSDT (offset 140) and X_FIRMWARE_CTRL (132) win over the 32-bit DSDT
    # (40) and FIRMWARE_CTRL (36) when they are non-zero (ACPI 6.5, 5.2.9).
    dsdt = read_uint(fadt.data, 140, 8) or read_uint(fadt.data, 40, 4)
    facs = read_uint(fadt.data, 132, 8) or read_uint(fadt.data, 36, 4)
    known = {table.address for table in walk.tables}
    for address in (dsdt, facs):
        if not address or address in known:
            continue
        table = read_table(read, address)
        if table is not None:
            walk.tables.append(table)
