"""Reader for the output of the UEFI shell's `acpiview` command (edk2 ShellPkg).

For each table, `acpiview` prints a heading ` --------------- SPCR Table --------------- `,
a raw dump (`Address  : 0x7C43E818`, `Length   : 80`, then lines such as
`00000000 : 53 50 43 52 50 00 00 00 - 02 CB 42 4F 43 48 53 20   SPCRP.....BOCHS `),
`Table Checksum : OK` or `Table Checksum : FAILED (0x..)`, and the decoded
fields, starting with an "ACPI Table Header" block (`  Signature : SPCR`,
`  Length : 80`, `  Revision : 2`, `  Oem ID : BOCHS`). `acpiview -l` prints
only a numbered list under `Installed Table(s):`.

The raw dump is read whole and decoded like any table. Older edk2 releases
print other offsets on the dump lines, so the bytes are taken in order and
the offsets are not used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from armcheck.transcript import Line

# NOTE: written from the edk2 ShellPkg sources (AcpiParser.c, AcpiView.c);
# the Debian AAVMF shell used for the captures has no acpiview command, so no
# real capture has been read yet.
_HEADING = re.compile(r"^\s*-{5,}\s+(\S{4}) Table\s+-{5,}\s*$")
_ADDRESS = re.compile(r"^\s*Address\s+:\s+(?:0x)?([0-9A-Fa-f]+)\s*$")
_LENGTH = re.compile(r"^\s*Length\s+:\s+(\d+)\s*$")
_DUMP_LINE = re.compile(r"^\s*[0-9A-Fa-f]{8} : (.*)$")
_CHECKSUM = re.compile(r"^\s*Table Checksum\s*:\s*(OK|FAILED)")
_FIELD = re.compile(r"^\s+(Signature|Length|Revision|Oem ID|Oem Table ID)\s+:\s?(.*)$")
_LIST_ENTRY = re.compile(r"^\s*\d+\.\s+(\S{4})\s*$")
_HEX_PAIR = re.compile(r"[0-9A-Fa-f]{2}")


@dataclass
class AcpiviewTable:
    """One table of acpiview output: its raw bytes and the header fields it printed."""

    signature: str
    line: Line
    address: int | None = None
    length: int | None = None
    data: bytearray = field(default_factory=bytearray)
    checksum_ok: bool | None = None
    fields: dict[str, str] = field(default_factory=dict)
    listed_only: bool = False

    @property
    def complete(self) -> bool:
        return self.length is not None and len(self.data) == self.length


def _dump_bytes(text: str) -> bytes:
    # Byte pairs are separated by one space, with "- " between the two
    # groups of eight; the ASCII column follows after two or more spaces.
    out = bytearray()
    for group in re.split(r" - ", text.split("   ", 1)[0], maxsplit=1):
        for token in group.strip().split(" "):
            if len(token) != 2 or _HEX_PAIR.fullmatch(token) is None or len(out) == 16:
                return bytes(out)
            out.append(int(token, 16))
    return bytes(out)


def read_acpiview(lines: Iterable[Line]) -> list[AcpiviewTable]:
    """Collect the tables of `acpiview` output, with or without `-l`."""
    tables: list[AcpiviewTable] = []
    current: AcpiviewTable | None = None
    in_dump = False
    for line in lines:
        text = line.text
        heading = _HEADING.match(text)
        if heading is not None:
            current = AcpiviewTable(heading.group(1), line)
            tables.append(current)
            in_dump = False
            continue
        listed = _LIST_ENTRY.match(text)
        if listed is not None:
            tables.append(AcpiviewTable(listed.group(1), line, listed_only=True))
            current = None
            continue
        if current is None:
            continue
        if current.address is None and (match := _ADDRESS.match(text)):
            current.address = int(match.group(1), 16)
            in_dump = True
            continue
        if in_dump and current.length is None and (match := _LENGTH.match(text)):
            current.length = int(match.group(1))
            continue
        if in_dump and (match := _DUMP_LINE.match(text)):
            current.data.extend(_dump_bytes(match.group(1)))
            continue
        if text.strip():
            in_dump = False
        if match := _CHECKSUM.match(text):
            current.checksum_ok = match.group(1) == "OK"
            continue
        if match := _FIELD.match(text):
            current.fields.setdefault(match.group(1), match.group(2).strip())
    return tables
