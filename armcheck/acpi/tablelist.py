"""Reader for text inventories of firmware tables, as Windows tools export them.

Each entry is a block of `Name : value` lines between rows of `=` signs:
`Signature : APIC`, `Firmware Provider : ACPI`, `Length : 26,709`,
`Revision : 5`, `OEM ID : LENOVO`, `OEM Table ID : CB-01`. Entries of other
providers (SMBIOS, with an empty signature) are skipped. The list only shows
that a table exists; its bytes are not there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from armcheck.transcript import Line

_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s?(.*)$")
_SEPARATOR = re.compile(r"^\s*={5,}\s*$")


@dataclass
class TableListEntry:
    """One ACPI entry of a table list."""

    signature: str
    revision: int | None
    length: int | None
    oem_id: str | None
    oem_table_id: str | None
    line: Line


def _number(text: str | None) -> int | None:
    if not text:
        return None
    text = text.replace(",", "").replace(".", "").strip()
    try:
        return int(text, 0)
    except ValueError:
        return None


def read_table_list(lines: Iterable[Line]) -> list[TableListEntry]:
    """Collect the ACPI entries of a firmware table list."""
    entries: list[TableListEntry] = []
    fields: dict[str, str] = {}
    first: Line | None = None

    def finish() -> None:
        signature = fields.get("signature", "").strip()
        provider = fields.get("firmware provider", "ACPI").strip().upper()
        if first is not None and len(signature) == 4 and provider == "ACPI":
            entries.append(
                TableListEntry(
                    signature=signature,
                    revision=_number(fields.get("revision")),
                    length=_number(fields.get("length")),
                    oem_id=fields.get("oem id", "").strip() or None,
                    oem_table_id=fields.get("oem table id", "").strip() or None,
                    line=first,
                )
            )

    for line in lines:
        text = line.text.lstrip("\ufeff")
        if _SEPARATOR.match(text):
            continue
        match = _FIELD.match(text)
        if match is None:
            continue
        name = match.group(1).strip().lower()
        if name == "signature":
            finish()
            fields = {}
            first = line
        fields[name] = match.group(2)
    finish()
    return entries
