"""Decoders for the interrupt controller and timer tables: MADT and GTDT.

Layouts follow the ACPI Specification 6.5. Section 5.2.12 defines the MADT
interrupt controller structures (GICC type 0x0B, GICD 0x0C, GIC MSI frame
0x0D, GICR 0x0E, GIC ITS 0x0F). The Generic Timer Description Table section
defines the GTDT and its platform timer structures (GT Block type 0, Arm SBSA
Generic Watchdog type 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from armcheck.acpi.header import AcpiTable, read_uint

MADT_GICC = 0x0B
MADT_GICD = 0x0C
MADT_MSI_FRAME = 0x0D
MADT_GICR = 0x0E
MADT_ITS = 0x0F

GTDT_GT_BLOCK = 0
GTDT_WATCHDOG = 1


def iter_substructures(
    table: AcpiTable, start: int, length_size: int, count: int | None = None
) -> Iterator[tuple[int, int, int]]:
    """Yield (type, offset, length) of the type-length structures from `start` to the end.

    `length_size` is 1 for the MADT and PPTT and 2 for the GTDT and IORT. A
    structure that is too short or runs past the end is recorded in the
    table's problems and ends the walk. `count` limits the number of structures.
    """
    data = table.data
    offset = start
    seen = 0
    while offset < len(data) and (count is None or seen < count):
        kind = data[offset]
        length = read_uint(data, offset + 1, length_size)
        if length is None or length < 1 + length_size:
            table.problems.append(f"structure at offset {offset} has an invalid length {length}")
            return
        if offset + length > len(data):
            table.problems.append(
                f"structure type {kind} at offset {offset} runs past the end of the table"
            )
            return
        yield kind, offset, length
        offset += length
        seen += 1
    if count is not None and seen < count:
        table.problems.append(f"{count} structures announced, {seen} present")


def decode_madt(table: AcpiTable) -> dict[str, Any]:
    """Decode the GIC structures of a MADT."""
    data = table.data
    gicc: list[dict[str, Any]] = []
    gicd: list[dict[str, Any]] = []
    value: dict[str, Any] = {
        "revision": table.revision,
        "gicc": gicc,
        "gicd": gicd,
        "gicr": 0,
        "its": 0,
        "msi_frames": 0,
        "structures": [],
    }
    for kind, offset, length in iter_substructures(table, 44, 1):
        value["structures"].append(kind)
        body = data[offset : offset + length]
        if kind == MADT_GICC:
            flags = read_uint(body, 12, 4)
            gicc.append(
                {
                    "cpu_interface": read_uint(body, 4, 4),
                    "uid": read_uint(body, 8, 4),
                    "mpidr": read_uint(body, 68, 8),
                    "enabled": None if flags is None else bool(flags & 1),
                    "gicr_address": read_uint(body, 60, 8),
                }
            )
        elif kind == MADT_GICD:
            gicd.append({"version": read_uint(body, 20, 1), "address": read_uint(body, 8, 8)})
        elif kind == MADT_GICR:
            value["gicr"] += 1
        elif kind == MADT_ITS:
            value["its"] += 1
        elif kind == MADT_MSI_FRAME:
            value["msi_frames"] += 1
    return value


# Generic timer fields of the GTDT: (name, GSIV offset). Each GSIV is followed
# by its 4-byte flags: bit 0 edge-triggered, bit 1 active low, bit 2 always-on.
_GTDT_TIMERS = (
    ("secure_el1", 48),
    ("non_secure_el1", 56),
    ("virtual_el1", 64),
    ("el2", 72),
)


def decode_gtdt(table: AcpiTable) -> dict[str, Any]:
    """Decode the generic timers and platform timer structures of a GTDT.

    "blocks" and "watchdogs" are left out when the table ends before the
    platform timer count, so that a cut table does not read as "no watchdog".
    """
    data = table.data
    timers: dict[str, Any] = {}
    watchdogs: list[dict[str, Any]] = []
    value: dict[str, Any] = {"revision": table.revision, "timers": timers}
    fields = list(_GTDT_TIMERS)
    # GTDT revision 3 (ACPI 6.3) adds the virtual EL2 timer at offset 96.
    if table.revision >= 3:
        fields.append(("virtual_el2", 96))
    for name, offset in fields:
        gsiv = read_uint(data, offset, 4)
        if gsiv is not None:
            timers[name] = {"gsiv": gsiv, "flags": read_uint(data, offset + 4, 4)}

    count = read_uint(data, 88, 4)
    start = read_uint(data, 92, 4)
    if count is None or start is None:
        # Leave "blocks" and "watchdogs" out: the table does not show them.
        table.problems.append("truncated before the platform timer count")
        return value
    value.update(platform_timer_count=count, blocks=0, watchdogs=watchdogs)
    if count == 0:
        return value
    fixed_end = 104 if table.revision >= 3 else 96
    if start < fixed_end:
        # iasl 20200925 compiles its own revision 3 template with offset 0x60,
        # inside the virtual EL2 timer fields. The structures follow the fixed
        # fields in every table seen, so read them from there.
        table.problems.append(
            f"platform timer offset {start} points inside the fixed fields, which end at "
            f"{fixed_end}; reading the structures from {fixed_end}"
        )
        start = fixed_end
    for kind, offset, length in iter_substructures(table, start, 2, count):
        body = data[offset : offset + length]
        if kind == GTDT_GT_BLOCK:
            value["blocks"] += 1
        elif kind == GTDT_WATCHDOG:
            flags = read_uint(body, 24, 4)
            watchdogs.append(
                {
                    "refresh_frame": read_uint(body, 4, 8),
                    "control_frame": read_uint(body, 12, 8),
                    "gsiv": read_uint(body, 20, 4),
                    "flags": flags,
                    "secure": None if flags is None else bool(flags & 4),
                }
            )
        else:
            table.problems.append(f"platform timer type {kind} at offset {offset} is reserved")
    return value
