"""SMBIOS decoders: entry points, the structure table, and dmidecode text."""

from __future__ import annotations

from armcheck.smbios.dmidecode import DmidecodeOutput, read_dmidecode
from armcheck.smbios.structures import (
    EntryPoint,
    Structure,
    StructureTable,
    decode_entry_point,
    describe,
    walk_structures,
)

__all__ = [
    "DmidecodeOutput",
    "EntryPoint",
    "Structure",
    "StructureTable",
    "decode_entry_point",
    "describe",
    "read_dmidecode",
    "walk_structures",
]
