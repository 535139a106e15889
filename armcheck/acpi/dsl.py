"""Reader for `iasl -d` disassemblies of ACPI tables (.dsl files).

For a data table, iasl (releases 20200925 and 20220331 were read) prints one
line per field: `[02Ch 0044   8]                      Address : 0000000000A90000`,
that is the hex offset, the decimal offset, the byte length, the field name
and its value in hex or as a quoted string. The length column is read as hex
when it ends in `h`, as newer releases print it. A file may contain several
tables, each starting with its Signature field at offset 0, and each may end
with a "Raw Table Data" hex dump.

A table is read from its raw dump when the dump is complete. Otherwise, as in
a paste cut short, its bytes are rebuilt from the field lines and decoded
like any table, so only the fields present in the file get values.

For a DSDT or SSDT, iasl prints ASL source with the original table header in
a comment above it, and only that header is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from armcheck.acpi.dumps import parse_hex_line
from armcheck.acpi.header import HEADER_LENGTH, AcpiTable, decode_table
from armcheck.errors import InputFormatError
from armcheck.transcript import Line

_FIELD = re.compile(r"^\s*\[([0-9A-Fa-f]+)h\s+(\d+)\s+([0-9A-Fa-f]+h|\d+)\]\s*(.*?)\s+:\s?(.*)$")
_CONTINUATION = re.compile(r"^\s*/\*\s*([0-9A-Fa-f]+)h\s+(\d+)\s+(\d+)\s*\*/\s*(.*)$")
_RAW_HEADER = re.compile(r"Raw Table Data: Length (\d+)")
_HEX_PAIR = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{2}(?![0-9A-Za-z])")
# Tables bigger than this are taken as a corrupt field offset, not rebuilt.
MAX_REBUILT_LENGTH = 1024 * 1024


@dataclass
class Disassembly:
    """One table of a disassembly: its field bytes, its raw dump and the Signature line."""

    signature: str
    line: Line
    image: dict[int, int] = field(default_factory=dict)
    raw: bytearray = field(default_factory=bytearray)
    raw_length: int | None = None

    def write(self, offset: int, data: bytes) -> None:
        if offset + len(data) > MAX_REBUILT_LENGTH:
            return
        for index, byte in enumerate(data):
            self.image[offset + index] = byte

    def table(self) -> AcpiTable | None:
        """Decode the table from its complete raw dump, else from the rebuilt field bytes."""
        origin = f"disassembly line {self.line.number}"
        if self.raw_length and len(self.raw) >= self.raw_length:
            try:
                return decode_table(bytes(self.raw[: self.raw_length]), None, origin)
            except InputFormatError:
                pass
        if not self.image:
            return None
        size = max(self.image) + 1
        rebuilt = bytearray(max(size, HEADER_LENGTH))
        for offset, byte in self.image.items():
            rebuilt[offset] = byte
        try:
            table = decode_table(bytes(rebuilt), None, origin)
        except InputFormatError:
            return None
        if size < HEADER_LENGTH:
            # The header was padded to decode it: its length is not what is missing.
            table.problems[:] = [p for p in table.problems if not p.startswith("truncated")]
            table.problems.append(f"disassembly ends inside the header, at offset {size}")
        # Bytes rebuilt from field lines prove nothing about the checksum.
        table.checksum_ok = None
        table.data = table.data[:size]
        table.problems[:] = [p for p in table.problems if not p.startswith("checksum")]
        table.problems.append("rebuilt from the disassembled fields")
        return table


def _field_bytes(value: str, length: int) -> bytes | None:
    value = value.strip()
    if value.startswith('"'):
        text = value[1 : value.rfind('"')] if value.count('"') >= 2 else value[1:]
        return text.encode("ascii", "replace")[:length].ljust(length, b"\x00")
    if value.startswith("["):
        return None
    token = value.split(" ", 1)[0]
    if length <= 8 and token and all(char in "0123456789abcdefABCDEF" for char in token):
        return (int(token, 16) & ((1 << (8 * length)) - 1)).to_bytes(length, "little")
    pairs = _HEX_PAIR.findall(value.split("/*", 1)[0])
    if pairs:
        return bytes(int(pair, 16) for pair in pairs)
    return None


def read_dsl(lines: Iterable[Line]) -> list[Disassembly]:
    """Collect the tables of an `iasl -d` disassembly."""
    tables: list[Disassembly] = []
    current: Disassembly | None = None
    in_raw = False
    for line in lines:
        text = line.text
        match = _FIELD.match(text)
        if match is not None:
            offset = int(match.group(1), 16)
            size_text = match.group(3)
            length = int(size_text[:-1], 16) if size_text.endswith("h") else int(size_text)
            name, value = match.group(4).strip(), match.group(5)
            if offset == 0 and name == "Signature":
                current = Disassembly(value.strip().strip('"')[:4], line)
                tables.append(current)
                in_raw = False
            if current is None:
                continue
            data = _field_bytes(value, length)
            if data is not None:
                current.write(offset, data)
            continue
        if current is None:
            continue
        continuation = _CONTINUATION.match(text)
        if continuation is not None:
            data = _field_bytes(continuation.group(4), int(continuation.group(3)))
            if data is not None:
                current.write(int(continuation.group(1), 16), data)
            continue
        raw = _RAW_HEADER.search(text)
        if raw is not None:
            current.raw_length = int(raw.group(1))
            in_raw = True
            continue
        if in_raw:
            hex_line = parse_hex_line(text)
            if hex_line is not None and hex_line.offset == len(current.raw):
                current.raw.extend(hex_line.data)
    return tables


# Header comment of an AML (DSDT or SSDT) disassembly:
#  *     Signature        "SSDT"
#  *     Length           0x00000047 (71)
_ORIGINAL_HEADER = re.compile(r"^\s*\*\s+Original Table Header:")
_HEADER_FIELD = re.compile(r"^\s*\*\s+(Signature|Length|Revision|OEM ID|OEM Table ID)\s+(.+?)\s*$")


@dataclass
class AmlHeader:
    """The table header that iasl prints as a comment above an AML disassembly."""

    fields: dict[str, str]
    line: Line

    def summary(self) -> dict[str, object]:
        """Return the value of an `acpi.table` fact; the table bytes are not in the file."""

        def text(name: str) -> str | None:
            value = self.fields.get(name)
            return value.strip('"').rstrip() if value is not None else None

        def number(name: str) -> int | None:
            value = self.fields.get(name, "").split(" ", 1)[0]
            try:
                return int(value, 16)
            except ValueError:
                return None

        return {
            "signature": text("Signature"),
            "revision": number("Revision"),
            "length": number("Length"),
            "oem_id": text("OEM ID"),
            "oem_table_id": text("OEM Table ID"),
            "address": None,
            "checksum_ok": None,
            "problems": ["AML disassembly: header only"],
        }


def read_aml_headers(lines: Iterable[Line]) -> list[AmlHeader]:
    """Collect the "Original Table Header" comments of DSDT and SSDT disassemblies."""
    headers: list[AmlHeader] = []
    current: AmlHeader | None = None
    for line in lines:
        if _ORIGINAL_HEADER.match(line.text):
            current = AmlHeader({}, line)
            headers.append(current)
            continue
        if current is None:
            continue
        match = _HEADER_FIELD.match(line.text)
        if match is not None:
            current.fields.setdefault(match.group(1), match.group(2))
        elif not line.text.lstrip().startswith("*"):
            current = None
    return [h for h in headers if len(h.fields.get("Signature", "").strip('"')) == 4]
