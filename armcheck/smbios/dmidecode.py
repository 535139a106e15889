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

from armcheck.transcript import Line

_VERSION = re.compile(r"^\s*SMBIOS (\d+)\.(\d+)(?:\.(\d+))? present\.")
_HANDLE = re.compile(r"^\s*Handle 0x([0-9A-Fa-f]+), DMI type (\d+), (\d+) bytes")
_FIELD = re.compile(r"^\s+([^:]+?):\s?(.*)$")


@dataclass
class DmiRecord:
    """One dmidecode record: its type, title and fields, with the line of its Handle line."""

    type: int
    handle: int
    title: str
    fields: dict[str, str]
    line: Line


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


def describe_records(output: DmidecodeOutput) -> dict[str, tuple[object, Line]]:
    """Return fact key -> (value, line) for the types 0 to 4 that the output shows."""
    values: dict[str, tuple[object, Line]] = {}
    for kind, key, names in _RECORD_FACTS:
        record = output.first(kind)
        if record is not None:
            fields = {name: _value(record, field_name) for name, field_name in names.items()}
            values[key] = (fields, record.line)

    processors = [record for record in output.records if record.type == 4]
    if processors:
        values["smbios.processor"] = (
            [
                {
                    "socket": _value(record, "Socket Designation"),
                    "manufacturer": _value(record, "Manufacturer"),
                    "version": _value(record, "Version"),
                    "cores": _number(record, "Core Count"),
                    "threads": _number(record, "Thread Count"),
                }
                for record in processors
            ],
            processors[0].line,
        )
    return values
