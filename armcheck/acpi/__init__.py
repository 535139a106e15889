"""ACPI table decoders: headers, the RSDP walk, and the fields the checks need.

`decode_table` reads the header of any table. `decode_fields` returns the
decoded fields of the tables armcheck decodes (FADT, MADT, GTDT, SPCR, DBG2,
MCFG, IORT, PPTT) with the name of their fact key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from armcheck.acpi.header import AcpiTable, GenericAddress, decode_table
from armcheck.acpi.interrupts import decode_gtdt, decode_madt
from armcheck.acpi.platform import decode_fadt, decode_iort, decode_mcfg, decode_pptt
from armcheck.acpi.rsdp import AcpiWalk, Rsdp, decode_rsdp, walk_rsdp
from armcheck.acpi.serial import baud_from_code, decode_dbg2, decode_spcr

# Table signature -> (fact key, decoder).
DECODERS: dict[str, tuple[str, Callable[[AcpiTable], dict[str, Any]]]] = {
    "FACP": ("acpi.fadt", decode_fadt),
    "APIC": ("acpi.madt", decode_madt),
    "GTDT": ("acpi.gtdt", decode_gtdt),
    "SPCR": ("acpi.spcr", decode_spcr),
    "DBG2": ("acpi.dbg2", decode_dbg2),
    "MCFG": ("acpi.mcfg", decode_mcfg),
    "IORT": ("acpi.iort", decode_iort),
    "PPTT": ("acpi.pptt", decode_pptt),
}


def decode_fields(table: AcpiTable) -> tuple[str, dict[str, Any]] | None:
    """Return (fact key, decoded fields) for a table armcheck decodes, else None.

    Problems the decoder finds are appended to `table.problems`.
    """
    entry = DECODERS.get(table.signature)
    if entry is None:
        return None
    key, decoder = entry
    value = decoder(table)
    if len(table.data) < 9:
        # A header cut before its revision byte: the decoder read padding there.
        value.pop("revision", None)
    return key, value


__all__ = [
    "AcpiTable",
    "AcpiWalk",
    "DECODERS",
    "GenericAddress",
    "Rsdp",
    "baud_from_code",
    "decode_fields",
    "decode_rsdp",
    "decode_table",
    "walk_rsdp",
]
