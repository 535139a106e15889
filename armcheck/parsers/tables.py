"""Facts from ACPI and SMBIOS tables, in whatever form an input carries them.

Each `facts_from_*` function records observations in a given Facts and
returns how many tables (or SMBIOS structures) it found, so that a caller can
tell an input that contained none. Evidence has the source `acpi-table` or
`smbios-table`, or `uefi-shell` when the bytes came from a `dmem` or
`acpiview` dump in a console log. Evidence from text inputs names the line
where each table starts.

The `looks_like_*` helpers let input detection pick a reader from the first
bytes or lines of a file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from armcheck.acpi import decode_fields, decode_rsdp, decode_table, walk_rsdp
from armcheck.acpi.acpiview import AcpiviewTable, read_acpiview
from armcheck.acpi.dsl import read_aml_headers, read_dsl
from armcheck.acpi.dumps import (
    DmemDump,
    MemoryImage,
    read_acpidump,
    read_base64_runs,
    read_dmem,
    read_hex_runs,
)
from armcheck.acpi.efi import (
    CONFIGURATION_ENTRY_LENGTH,
    configuration_pointers,
    decode_system_table,
)
from armcheck.acpi.header import AcpiTable, is_signature
from armcheck.acpi.rsdp import Rsdp, table_entries
from armcheck.acpi.tablelist import read_table_list
from armcheck.errors import InputFormatError
from armcheck.facts import ACPI_TABLE, SMBIOS_TABLE, UEFI_SHELL, Evidence, Facts
from armcheck.smbios import decode_entry_point, describe, read_dmidecode, walk_structures
from armcheck.smbios.dmidecode import describe_records
from armcheck.smbios.structures import EntryPoint, StructureTable
from armcheck.transcript import Line

log = logging.getLogger(__name__)

# Files in a table folder larger than this are not ACPI tables.
MAX_TABLE_FILE = 16 * 1024 * 1024


def _line_evidence(
    source: str, file: str | None, line: Line | None, text: str | None = None
) -> Evidence:
    if line is None:
        return Evidence(source, file)
    return Evidence(source, file, line.number, line.time, text if text is not None else line.text)


# --- recording decoded tables ---------------------------------------------------------------


def record_acpi_table(table: AcpiTable, facts: Facts, evidence: Evidence) -> None:
    """Record one decoded table: its header as `acpi.table`, and its decoded fields."""
    summary = table.summary()
    decoded = decode_fields(table)
    summary["problems"] = list(table.problems)
    facts.add("acpi.table", summary, evidence)
    if table.signature == "XSDT":
        facts.add("acpi.xsdt.entries", table_entries(table), evidence)
    elif table.signature == "RSDT":
        facts.add("acpi.rsdt.present", True, evidence)
    if decoded is not None:
        key, value = decoded
        value["problems"] = list(table.problems)
        facts.add(key, value, evidence)
    for problem in table.problems:
        log.info("%s %s: %s", table.signature, evidence.where(), problem)


def record_rsdp(rsdp: Rsdp, facts: Facts, evidence: Evidence) -> None:
    """Record the RSDP as `acpi.rsdp` and as an `acpi.table` named RSDP."""
    value = rsdp.summary()
    value["problems"] = list(rsdp.problems)
    facts.add("acpi.rsdp", value, evidence)
    facts.add(
        "acpi.table",
        {
            "signature": "RSDP",
            "revision": rsdp.revision,
            "length": rsdp.length,
            "oem_id": rsdp.oem_id,
            "oem_table_id": None,
            "address": rsdp.address,
            "checksum_ok": rsdp.checksum_ok and rsdp.extended_checksum_ok is not False,
            "problems": list(rsdp.problems),
        },
        evidence,
    )


# --- ACPI binary inputs ---------------------------------------------------------------------


def looks_like_acpi_binary(data: bytes) -> bool:
    """Return True when `data` starts like an RSDP or an ACPI table with a plausible length."""
    if data[:8] == b"RSD PTR ":
        return True
    if len(data) < 36 or not is_signature(data[:4]):
        return False
    length = int.from_bytes(data[4:8], "little")
    return 36 <= length <= MAX_TABLE_FILE or data[:4] == b"FACS"


def facts_from_acpi_binary(
    data: bytes, facts: Facts, evidence: Evidence, address: int | None = None
) -> int:
    """Record the RSDP or table(s) in `data`: one table, or several laid end to end.

    Raises InputFormatError when `data` does not start with an RSDP or a table.
    """
    origin = evidence.file or evidence.source
    if data[:8] == b"RSD PTR ":
        record_rsdp(decode_rsdp(data, address, origin), facts, evidence)
        return 1
    count = 0
    offset = 0
    while offset < len(data):
        chunk = data[offset:]
        if count and not looks_like_acpi_binary(chunk):
            break
        table = decode_table(chunk, address, origin)
        if count:
            table.file_offset = offset
        record_acpi_table(table, facts, evidence)
        count += 1
        if table.length < 36 or table.truncated:
            break
        offset += table.length
        address = None
    return count


def facts_from_acpi_folder(path: str | os.PathLike[str], facts: Facts) -> int:
    """Record every table file in a folder (as from /sys/firmware/acpi/tables or acpixtract).

    Files that are not tables are skipped and logged. Raises InputFormatError
    when the folder contains no table at all.
    """
    folder = Path(path)
    count = 0
    for file in sorted(folder.rglob("*")):
        if not file.is_file():
            continue
        try:
            if file.stat().st_size > MAX_TABLE_FILE:
                continue
            data = file.read_bytes()
        except OSError as err:
            log.warning("cannot read %s: %s", file, err)
            continue
        if not looks_like_acpi_binary(data):
            log.debug("%s is not an ACPI table; skipped", file)
            continue
        count += facts_from_acpi_binary(data, facts, Evidence(ACPI_TABLE, str(file)))
    if count == 0:
        raise InputFormatError(
            f"{folder}: no ACPI table files found; expected binary tables such as "
            "/sys/firmware/acpi/tables or acpixtract output"
        )
    return count


# --- UEFI shell dmem ------------------------------------------------------------------------


def looks_like_dmem(head: str) -> bool:
    """Return True when text contains UEFI shell `dmem` output."""
    return "Memory Address " in head and " Bytes" in head


def facts_from_dmem_lines(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record the system table pointers and the ACPI and SMBIOS tables found in `dmem` dumps.

    The RSDP named by the system table (or any dumped block that starts with
    one) is walked through the XSDT; dumped blocks that start with a table
    the walk did not reach are recorded on their own.
    """
    dump = read_dmem(lines)
    memory = dump.memory

    def evidence_at(address: int | None, fallback: Line | None = None) -> Evidence:
        line = memory.line_at(address) if address is not None else None
        return _line_evidence(UEFI_SHELL, file, line or fallback)

    pointers = _system_table_pointers(dump, facts, file)

    rsdp_addresses = []
    if "acpi20" in pointers:
        rsdp_addresses.append(pointers["acpi20"])
    rsdp_addresses += [b.address for b in memory.blocks if bytes(b.data[:8]) == b"RSD PTR "]

    count = 0
    done: set[int] = set()
    for rsdp_address in dict.fromkeys(rsdp_addresses):
        if memory.read(rsdp_address, 8) is None:
            continue
        walk = walk_rsdp(memory.read, rsdp_address)
        if walk.rsdp is not None:
            record_rsdp(walk.rsdp, facts, evidence_at(rsdp_address))
            count += 1
        for table in walk.tables:
            if table.address is not None:
                done.add(table.address)
            record_acpi_table(table, facts, evidence_at(table.address))
            count += 1
        for problem in walk.problems:
            log.info("RSDP walk from 0x%X: %s", rsdp_address, problem)

    for block in memory.blocks:
        if block.address in done or not looks_like_acpi_binary(bytes(block.data[:36])):
            continue
        if bytes(block.data[:8]) == b"RSD PTR ":
            continue
        table = decode_table(bytes(block.data), block.address, f"dmem at 0x{block.address:X}")
        record_acpi_table(table, facts, evidence_at(block.address))
        count += 1

    count += _smbios_from_memory(memory, pointers, facts, file)
    return count


def _system_table_pointers(dump: DmemDump, facts: Facts, file: str | None) -> dict[str, int]:
    """Record `uefi.system_table` once per value and return its pointers.

    The configuration table entries, when they were dumped, name each pointer
    by its GUID. Otherwise the summary that edk2 prints after `dmem` is used,
    and that summary calls an SMBIOS 3 entry point "SMBIOS Table".
    """
    memory = dump.memory
    pointers = {key: address for key, (address, _line) in dump.pointers.items()}
    lines = [line for _address, line in dump.pointers.values()]
    for block in memory.blocks:
        system_table = decode_system_table(bytes(block.data))
        if system_table is None:
            continue
        evidence = _line_evidence(UEFI_SHELL, file, memory.line_at(block.address))
        facts.set_once("uefi.revision", system_table.revision, evidence)
        entries = memory.read(
            system_table.configuration_table,
            system_table.entry_count * CONFIGURATION_ENTRY_LENGTH,
        )
        if entries:
            pointers = configuration_pointers(entries) or pointers
            found = memory.line_at(system_table.configuration_table)
            lines = [found] if found is not None else lines
        break
    if pointers:
        first = min(lines, key=lambda line: line.number) if lines else None
        facts.set_once("uefi.system_table", pointers, _line_evidence(UEFI_SHELL, file, first))
    return pointers


def _smbios_from_memory(
    memory: MemoryImage, pointers: dict[str, int], facts: Facts, file: str | None
) -> int:
    candidates = [pointers[key] for key in ("smbios3", "smbios") if key in pointers]
    candidates += [b.address for b in memory.blocks if bytes(b.data[:4]) in (b"_SM3", b"_SM_")]
    for address in dict.fromkeys(candidates):
        data = memory.read(address, 32)
        if not data:
            continue
        try:
            entry = decode_entry_point(data, f"dmem at 0x{address:X}")
        except InputFormatError:
            continue
        evidence = _line_evidence(UEFI_SHELL, file, memory.line_at(address))
        table_data = memory.read(entry.table_address, entry.table_length)
        structures = walk_structures(table_data) if table_data else None
        table_evidence = _line_evidence(UEFI_SHELL, file, memory.line_at(entry.table_address))
        return record_smbios(entry, structures, facts, evidence, table_evidence)
    return 0


def looks_like_acpiview(head: str) -> bool:
    """Return True when text contains UEFI shell `acpiview` output."""
    return "Table ---------------" in head or "Installed Table(s):" in head


def facts_from_acpiview_lines(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record the tables of UEFI shell `acpiview` output.

    A table whose raw dump is complete is decoded from its bytes; otherwise,
    and for `acpiview -l` lists, only its header fields are recorded.
    """
    count = 0
    for viewed in read_acpiview(lines):
        evidence = _line_evidence(UEFI_SHELL, file, viewed.line)
        if _acpiview_bytes_usable(viewed):
            try:
                count += facts_from_acpi_binary(bytes(viewed.data), facts, evidence, viewed.address)
                continue
            except InputFormatError as err:
                log.info("%s: %s", evidence.where(), err)
        facts.add("acpi.table", _acpiview_header(viewed), evidence)
        count += 1
    return count


def _acpiview_bytes_usable(viewed: AcpiviewTable) -> bool:
    if not viewed.complete:
        return False
    data = bytes(viewed.data)
    if viewed.signature == "RSDP":
        return data[:8] == b"RSD PTR "
    if data[:4] != viewed.signature.encode("ascii", "replace"):
        return False
    # acpiview checks the sum itself; a disagreement means the dump was misread.
    return viewed.checksum_ok is None or viewed.checksum_ok == (sum(data) % 256 == 0)


def _acpiview_header(viewed: AcpiviewTable) -> dict[str, Any]:
    def number(name: str) -> int | None:
        text = viewed.fields.get(name, "")
        return int(text) if text.isdigit() else None

    problems = [] if viewed.listed_only else ["the raw dump was incomplete; header fields only"]
    return {
        "signature": viewed.signature,
        "revision": number("Revision"),
        "length": number("Length") or viewed.length,
        "oem_id": viewed.fields.get("Oem ID"),
        "oem_table_id": viewed.fields.get("Oem Table ID"),
        "address": viewed.address,
        "checksum_ok": viewed.checksum_ok,
        "problems": problems,
    }


# --- acpidump, hex and base64 text ----------------------------------------------------------


def looks_like_acpidump(head: str) -> bool:
    """Return True when text looks like `acpidump` output (`XXXX @ 0x...` then hex lines)."""
    from armcheck.acpi.dumps import _ACPIDUMP_HEADER, parse_hex_line

    lines = head.splitlines()
    for index, text in enumerate(lines[:-1]):
        if _ACPIDUMP_HEADER.match(text):
            following = parse_hex_line(lines[index + 1])
            if following is not None and following.offset == 0:
                return True
    return False


def facts_from_acpidump_text(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record every table of `acpidump` text output."""
    count = 0
    for dumped in read_acpidump(lines):
        evidence = _line_evidence(ACPI_TABLE, file, dumped.line)
        if not dumped.data:
            continue
        try:
            count += facts_from_acpi_binary(dumped.data, facts, evidence, dumped.address)
        except InputFormatError as err:
            log.info("%s: %s", evidence.where(), err)
    return count


def facts_from_dump_text(
    lines: Iterable[Line], facts: Facts, file: str | None, source: str = ACPI_TABLE
) -> int:
    """Record ACPI tables and SMBIOS data printed as base64 or `hexdump -C` text.

    Runs of bytes that are neither are ignored.
    """
    line_list = list(lines)
    count = 0
    for dumped in list(read_base64_runs(line_list)) + list(read_hex_runs(line_list)):
        evidence = _line_evidence(source, file, dumped.line)
        if looks_like_acpi_binary(dumped.data):
            try:
                count += facts_from_acpi_binary(dumped.data, facts, evidence)
            except InputFormatError as err:
                log.info("%s: %s", evidence.where(), err)
        elif dumped.data[:4] in (b"_SM3", b"_SM_"):
            count += facts_from_smbios_binary(dumped.data, facts, evidence)
    return count


# --- iasl disassembly -----------------------------------------------------------------------


def looks_like_dsl(head: str) -> bool:
    """Return True when text looks like an `iasl -d` disassembly (data table or AML)."""
    if "[000h 0000" in head and "Signature" in head:
        return True
    return "Original Table Header:" in head and "DefinitionBlock" in head


def facts_from_dsl_text(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record every table of an `iasl -d` disassembly, whole or cut short.

    Uses the "Raw Table Data" bytes when the disassembly ends with all of
    them, and otherwise rebuilds the table from the decoded field lines. A
    DSDT or SSDT disassembly gives only the header that iasl prints above it.
    """
    line_list = list(lines)
    count = 0
    for header in read_aml_headers(line_list):
        facts.add("acpi.table", header.summary(), _line_evidence(ACPI_TABLE, file, header.line))
        count += 1
    for disassembly in read_dsl(line_list):
        table = disassembly.table()
        if table is None:
            continue
        evidence = _line_evidence(ACPI_TABLE, file, disassembly.line)
        record_acpi_table(table, facts, evidence)
        count += 1
    return count


# --- table lists ----------------------------------------------------------------------------


def looks_like_table_list(head: str) -> bool:
    """Return True for a text inventory of firmware tables (Signature / Firmware Provider)."""
    return "Firmware Provider" in head and "Signature" in head


def facts_from_table_list_text(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record one `acpi.table` per ACPI entry of a firmware table list (existence only)."""
    count = 0
    for entry in read_table_list(lines):
        value = {
            "signature": entry.signature,
            "revision": entry.revision,
            "length": entry.length,
            "oem_id": entry.oem_id,
            "oem_table_id": entry.oem_table_id,
            "address": None,
            "checksum_ok": None,
        }
        facts.add("acpi.table", value, _line_evidence(ACPI_TABLE, file, entry.line))
        count += 1
    return count


# --- SMBIOS ---------------------------------------------------------------------------------

# `dmidecode --dump-bin` writes the entry point at offset 0 and the structure
# table at offset 32, and rewrites the entry point's table address to 32.
DUMP_BIN_TABLE_OFFSET = 32


def looks_like_dmidecode(head: str) -> bool:
    """Return True when text looks like `dmidecode` output."""
    return ("# dmidecode" in head or " present." in head) and "DMI type" in head


def looks_like_smbios_binary(data: bytes) -> bool:
    """Return True for a raw SMBIOS dump that starts with a `_SM3_` or `_SM_` entry point."""
    return data[:5] == b"_SM3_" or data[:4] == b"_SM_"


def record_smbios(
    entry: EntryPoint | None,
    structures: StructureTable | None,
    facts: Facts,
    evidence: Evidence,
    table_evidence: Evidence | None = None,
) -> int:
    """Record the entry point and the structures of types 0 to 4.

    `structures` is None when the input does not contain the table at all.
    """
    table_evidence = table_evidence or evidence
    table_problems = [] if structures is None else list(structures.problems)
    if entry is not None:
        entry_problems = list(entry.problems)
        if (
            structures is not None
            and not structures.complete
            and structures.size < entry.table_length
        ):
            shortfall = f"table length {entry.table_length}, only {structures.size} bytes present"
            entry_problems.append(shortfall)
            table_problems.insert(0, shortfall)
        facts.add("smbios.version", entry.version, evidence)
        facts.add("smbios.entry_point", entry.kind, evidence)
        facts.add(
            "smbios.entry",
            {
                "kind": entry.kind,
                "version": entry.version,
                "checksum_ok": entry.checksum_ok,
                "table_address": entry.table_address,
                "table_length": entry.table_length,
                "problems": entry_problems,
            },
            evidence,
        )
    if structures is None:
        return 1 if entry is not None else 0
    _record_types(structures.types, table_problems, facts, table_evidence)
    for key, value in describe(structures).items():
        facts.add(key, value, table_evidence)
    _record_firmware_identity(facts.value("smbios.bios"), facts, table_evidence)
    for problem in table_problems:
        log.info("SMBIOS %s: %s", table_evidence.where(), problem)
    return max(1, len(structures.structures))


def _record_types(types: list[int], problems: list[str], facts: Facts, evidence: Evidence) -> None:
    # Only a whole table shows which types are absent, so the types of a cut,
    # damaged or filtered one go under another key, which the checks do not
    # take for the complete list.
    if problems:
        facts.add("smbios.partial_types", {"types": types, "problems": problems}, evidence)
    else:
        facts.add("smbios.types", types, evidence)


def _record_firmware_identity(
    bios: dict[str, Any] | None, facts: Facts, evidence: Evidence
) -> None:
    # The BIOS Information structure (type 0) names the firmware vendor and
    # version; record them as firmware facts next to what a banner shows.
    if not bios:
        return
    for name, key in (
        ("vendor", "firmware.vendor"),
        ("version", "firmware.version"),
        ("release_date", "firmware.release_date"),
    ):
        if bios.get(name):
            facts.set_once(key, bios[name], evidence)


def facts_from_smbios_binary(
    data: bytes, facts: Facts, evidence: Evidence, table: bytes | None = None
) -> int:
    """Record an SMBIOS dump: an entry point with its table after it (`dmidecode --dump-bin`),
    an entry point alone with `table` given separately (sysfs), or a bare structure table.
    """
    origin = evidence.file or evidence.source
    entry = None
    if looks_like_smbios_binary(data):
        entry = decode_entry_point(data, origin)
        start = entry.table_address
        if table is None and (0 < start < len(data) or start == DUMP_BIN_TABLE_OFFSET):
            # The table is in this file, so any bytes of it that are missing were cut off.
            table = data[start : start + entry.table_length]
    elif table is None:
        table = data
    structures = walk_structures(table) if table is not None else None
    # Without an entry point, only a whole structure shows that the bytes are a table.
    whole = [] if structures is None else [s for s in structures.structures if s.problem is None]
    if entry is None and not whole:
        raise InputFormatError(
            f"{origin}: no SMBIOS entry point or structure found; expected a "
            "dmidecode --dump-bin file or /sys/firmware/dmi/tables"
        )
    return record_smbios(entry, structures, facts, evidence)


def facts_from_smbios_folder(path: str | os.PathLike[str], facts: Facts) -> int:
    """Record /sys/firmware/dmi/tables (`smbios_entry_point` and `DMI`) or a copy of it."""
    folder = Path(path)
    entry_file = folder / "smbios_entry_point"
    table_file = folder / "DMI"
    if not entry_file.is_file() and not table_file.is_file():
        raise InputFormatError(
            f"{folder}: neither smbios_entry_point nor DMI found; expected a copy of "
            "/sys/firmware/dmi/tables"
        )
    entry_data = entry_file.read_bytes() if entry_file.is_file() else b""
    # A folder with the entry point but no DMI file has lost its table.
    table_data = table_file.read_bytes() if table_file.is_file() else b""
    evidence = Evidence(SMBIOS_TABLE, str(entry_file if entry_data else table_file))
    return facts_from_smbios_binary(
        entry_data or table_data, facts, evidence, table_data if entry_data else None
    )


def facts_from_dmidecode_text(lines: Iterable[Line], facts: Facts, file: str | None) -> int:
    """Record the SMBIOS version, the types present and types 0 to 4 from dmidecode text."""
    line_list = list(lines)
    output = read_dmidecode(line_list)
    if output.version is not None:
        facts.add(
            "smbios.version",
            output.version,
            _line_evidence(SMBIOS_TABLE, file, output.version_line),
        )
    if output.records:
        first = output.records[0].line
        _record_types(
            sorted({record.type for record in output.records}),
            output.problems(),
            facts,
            _line_evidence(SMBIOS_TABLE, file, first),
        )
    for key, (value, line) in describe_records(output).items():
        evidence = _line_evidence(SMBIOS_TABLE, file, line)
        facts.add(key, value, evidence)
        if key == "smbios.bios":
            _record_firmware_identity(value, facts, evidence)  # type: ignore[arg-type]
    return len(output.records) + (1 if output.version else 0)


# --- text decoding --------------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Decode a text file whatever its encoding: UTF-16 or UTF-8 (with or without a BOM),
    UTF-16 without a BOM when every other byte is NUL, and Latin-1 as the last resort.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", "replace")
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].decode("utf-8", "replace")
    sample = data[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
        return data.decode("utf-16-le", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def lines_from_text(text: str) -> list[Line]:
    """Split decoded text into Lines numbered from 1, all at time zero."""
    return [
        Line(number, 0.0, raw.rstrip("\r"), 0.0)
        for number, raw in enumerate(text.split("\n"), start=1)
    ]


__all__ = [
    "decode_text",
    "facts_from_acpi_binary",
    "facts_from_acpi_folder",
    "facts_from_acpidump_text",
    "facts_from_acpiview_lines",
    "facts_from_dmem_lines",
    "facts_from_dmidecode_text",
    "facts_from_dsl_text",
    "facts_from_dump_text",
    "facts_from_smbios_binary",
    "facts_from_smbios_folder",
    "facts_from_table_list_text",
    "lines_from_text",
    "looks_like_acpi_binary",
    "looks_like_acpidump",
    "looks_like_acpiview",
    "looks_like_dmem",
    "looks_like_dmidecode",
    "looks_like_dsl",
    "looks_like_smbios_binary",
    "looks_like_table_list",
    "record_acpi_table",
    "record_rsdp",
]
