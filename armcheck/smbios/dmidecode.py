"""Reader for `dmidecode` text output.

dmidecode (versions 2.x and 3.x) prints `SMBIOS 3.1.1 present.`, then one
record per structure: a `Handle 0x0000, DMI type 0, 26 bytes` line, a title
line (`BIOS Information`), and `Name: value` lines indented by a tab, with
list values on further-indented lines below their name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from armcheck.transcript import Line

_VERSION = re.compile(r"^\s*SMBIOS (\d+)\.(\d+)(?:\.(\d+))? present\.")
_HANDLE = re.compile(r"^\s*Handle 0x([0-9A-Fa-f]+), DMI type (\d+), (\d+) bytes")
_FIELD = re.compile(r"^\s+([^:]+?):\s?(.*)$")


END_OF_TABLE = 127


@dataclass
class DmiRecord:
    """One dmidecode record: its type, title and fields, with the line of its Handle line.

    `cut` is true for a last record that the text ends inside, before the blank
    line that closes every record dmidecode prints.
    """

    type: int
    handle: int
    title: str
    fields: dict[str, str]
    line: Line
    cut: bool = False


@dataclass
class DmidecodeOutput:
    """The SMBIOS version line and the records of dmidecode text output."""

    version: str | None = None
    version_line: Line | None = None
    records: list[DmiRecord] = field(default_factory=list)

    def first(self, kind: int) -> DmiRecord | None:
        for record in self.records:
            if record.type == kind:
                return record
        return None

    def problems(self) -> list[str]:
        """Describe why the records are not the whole table; empty for a complete listing.

        dmidecode prints the End Of Table structure (type 127) last, unless `-t`
        or `-H` filtered the output.
        """
        problems = []
        if not any(record.type == END_OF_TABLE for record in self.records):
            problems.append(
                "no End Of Table (type 127) record: the dmidecode output is filtered "
                "(-t or -H), cut short, or from a table without one"
            )
        problems += [_cut_problem(record) for record in self.records if record.cut]
        return problems


def _cut_problem(record: DmiRecord) -> str:
    return (
        f"the text ends inside the type {record.type} record at line {record.line.number}, "
        "which may be cut short"
    )


def read_dmidecode(lines: Iterable[Line]) -> DmidecodeOutput:
    """Collect the SMBIOS version and the records of dmidecode text output."""
    output = DmidecodeOutput()
    record: DmiRecord | None = None
    expect_title = False
    for line in lines:
        text = line.text
        version = _VERSION.match(text)
        if version is not None:
            output.version = f"{version.group(1)}.{version.group(2)}"
            output.version_line = line
            continue
        handle = _HANDLE.match(text)
        if handle is not None:
            record = DmiRecord(int(handle.group(2)), int(handle.group(1), 16), "", {}, line)
            output.records.append(record)
            expect_title = True
            continue
        if record is None:
            continue
        if not text.strip():
            record = None
            continue
        if expect_title:
            record.title = text.strip()
            expect_title = False
            continue
        field_match = _FIELD.match(text)
        if field_match is not None and field_match.group(1).strip() not in record.fields:
            record.fields[field_match.group(1).strip()] = field_match.group(2).strip()
    if record is not None and record.type != END_OF_TABLE:
        record.cut = True
    return output


def _value(record: DmiRecord | None, name: str) -> str | None:
    if record is None:
        return None
    value = record.fields.get(name)
    if value is None or value in ("Not Specified", "Not Present", ""):
        return None
    return value


def _number(record: DmiRecord, name: str) -> int | None:
    value = _value(record, name)
    return int(value) if value is not None and value.isdigit() else None


# The fact each dmidecode record type gives: (type, fact key, {fact field: dmidecode field}).
_RECORD_FACTS = (
    (
        0,
        "smbios.bios",
        {"vendor": "Vendor", "version": "Version", "release_date": "Release Date"},
    ),
    (
        1,
        "smbios.system",
        {
            "manufacturer": "Manufacturer",
            "product": "Product Name",
            "version": "Version",
            "serial": "Serial Number",
        },
    ),
    (
        2,
        "smbios.baseboard",
        {"manufacturer": "Manufacturer", "product": "Product Name", "version": "Version"},
    ),
    (3, "smbios.chassis", {"manufacturer": "Manufacturer", "type": "Type"}),
)


_PROCESSOR_FIELDS = {
    "socket": "Socket Designation",
    "manufacturer": "Manufacturer",
    "version": "Version",
    "cores": "Core Count",
    "threads": "Thread Count",
}


def describe_records(output: DmidecodeOutput) -> dict[str, tuple[object, Line]]:
    """Return fact key -> (value, line) for the types 0 to 4 that the output shows."""
    values: dict[str, tuple[object, Line]] = {}
    for kind, key, names in _RECORD_FACTS:
        record = output.first(kind)
        if record is not None:
            values[key] = (_fields(record, names), record.line)

    processors = [record for record in output.records if record.type == 4]
    if processors:
        values["smbios.processor"] = (
            [
                _fields(record, _PROCESSOR_FIELDS, numbers=("cores", "threads"))
                for record in processors
            ],
            processors[0].line,
        )
    return values


def _fields(
    record: DmiRecord, names: dict[str, str], numbers: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read the fields that `names` maps from dmidecode field names; `numbers` are integers.

    A cut record leaves out the fields the text does not reach and lists why under `problems`.
    """
    value: dict[str, Any] = {}
    # `dmidecode -u` shows each structure as hex bytes, with none of its fields decoded.
    # Its first line, which is the title in other output, is `Header and Data:`.
    undecoded = record.title.startswith("Header and Data") or "Header and Data" in record.fields
    for name, field_name in names.items():
        if (record.cut or undecoded) and field_name not in record.fields:
            continue
        value[name] = _number(record, field_name) if name in numbers else _value(record, field_name)
    problems = []
    if record.cut:
        problems.append(_cut_problem(record))
    if undecoded:
        problems.append(
            f"the type {record.type} record at line {record.line.number} shows its bytes "
            "undecoded (dmidecode -u); run dmidecode without -u for its fields"
        )
    if problems:
        value["problems"] = problems
    return value
