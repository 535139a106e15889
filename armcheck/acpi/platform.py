"""Decoders for FADT, MCFG, IORT and PPTT.

The FADT (section 5.2.9) and the PPTT (Processor Properties Topology Table)
follow the ACPI Specification 6.5. The MCFG follows the PCI Firmware
Specification 3.3, and the IORT follows Arm's "IO Remapping Table"
specification (DEN0049, issue E).
"""

from __future__ import annotations

from typing import Any

from armcheck.acpi.header import AcpiTable, read_uint
from armcheck.acpi.interrupts import iter_substructures

# FADT Flags bit 20: HW_REDUCED_ACPI. ARM_BOOT_ARCH bit 0: PSCI_COMPLIANT,
# bit 1: PSCI_USE_HVC (use HVC rather than SMC for PSCI calls).
FADT_HW_REDUCED_ACPI = 1 << 20
ARM_PSCI_COMPLIANT = 1 << 0
ARM_PSCI_USE_HVC = 1 << 1


def _flag(value: int | None, mask: int) -> bool | None:
    return None if value is None else bool(value & mask)


def decode_fadt(table: AcpiTable) -> dict[str, Any]:
    """Decode the FADT fields an Arm server needs: revision, HW_REDUCED_ACPI, PSCI flags."""
    data = table.data
    flags = read_uint(data, 112, 4)
    arm_boot = read_uint(data, 129, 2)
    if arm_boot is None:
        table.problems.append("FADT ends before ARM_BOOT_ARCH (offset 129)")
    return {
        "revision": table.revision,
        "minor_revision": read_uint(data, 131, 1),
        "flags": flags,
        "hw_reduced": _flag(flags, FADT_HW_REDUCED_ACPI),
        "arm_boot_flags": arm_boot,
        "psci_compliant": _flag(arm_boot, ARM_PSCI_COMPLIANT),
        "psci_use_hvc": _flag(arm_boot, ARM_PSCI_USE_HVC),
        "dsdt_address": read_uint(data, 140, 8) or read_uint(data, 40, 4),
    }


def decode_mcfg(table: AcpiTable) -> dict[str, Any]:
    """Decode the ECAM segments of an MCFG (16-byte entries from offset 44)."""
    data = table.data
    segments = []
    for offset in range(44, len(data) - 15, 16):
        segments.append(
            {
                "base": read_uint(data, offset, 8),
                "segment": read_uint(data, offset + 8, 2),
                "start_bus": data[offset + 10],
                "end_bus": data[offset + 11],
            }
        )
    if (len(data) - 44) % 16 and len(data) > 44:
        table.problems.append("MCFG ends inside an allocation entry")
    return {"revision": table.revision, "segments": segments}


def decode_iort(table: AcpiTable) -> dict[str, Any]:
    """Decode the node types of an IORT."""
    data = table.data
    count = read_uint(data, 36, 4)
    start = read_uint(data, 40, 4)
    nodes: list[int] = []
    value: dict[str, Any] = {"revision": table.revision, "nodes": nodes}
    if count is None or start is None:
        table.problems.append("truncated before the IORT node count")
        return value
    for kind, _offset, _length in iter_substructures(table, start, 2, count):
        nodes.append(kind)
    return value


def decode_pptt(table: AcpiTable) -> dict[str, Any]:
    """Count the processor hierarchy nodes of a PPTT and the processors (leaf nodes) among them.

    A leaf is a processor node that no other processor node names as its
    parent. Counting leaves this way also works for revision 1 tables, which
    lack the leaf flag.
    """
    data = table.data
    nodes: dict[int, int] = {}
    caches = 0
    for kind, offset, _length in iter_substructures(table, 36, 1):
        if kind == 0:
            nodes[offset] = read_uint(data, offset + 8, 4) or 0
        elif kind == 1:
            caches += 1
    parents = set(nodes.values())
    leaves = [offset for offset in nodes if offset not in parents]
    return {
        "revision": table.revision,
        "processors": len(leaves),
        "hierarchy_nodes": len(nodes),
        "caches": caches,
    }
