"""Tests of the table fact readers in armcheck.parsers.tables, on real inputs.

The main fixture is a UEFI shell session on qemu 7.2 `virt` with edk2: `dmem`
of the system table, the RSDP, the XSDT, every table and the SMBIOS table.
The same tables exist as binaries and as `acpidump -f` and `iasl -d` output.
Trimmed copies of public logs add dmidecode text from an Ampere eMAG board,
iasl disassemblies from a Snapdragon 7c laptop and an AWS Graviton (cut
short), and a Windows firmware table list in UTF-16.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from armcheck.errors import InputFormatError
from armcheck.facts import ACPI_TABLE, UEFI_SHELL, Evidence, Facts
from armcheck.parsers import tables
from armcheck.transcript import lines_from_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "tables"
QEMU = FIXTURES / "qemu-virt"


def text_lines(name: str):
    return tables.lines_from_text(tables.decode_text((FIXTURES / name).read_bytes()))


def signatures(facts: Facts) -> list[str]:
    return sorted({obs.value["signature"] for obs in facts.all("acpi.table")})


@pytest.fixture(scope="module")
def dmem_facts() -> Facts:
    facts = Facts()
    lines = lines_from_bytes((FIXTURES / "qemu-virt-dmem.log").read_bytes())
    tables.facts_from_dmem_lines(lines, facts, "qemu-virt-dmem.log")
    return facts


def test_dmem_table_signatures(dmem_facts):
    assert signatures(dmem_facts) == [
        "APIC",
        "DBG2",
        "DSDT",
        "FACP",
        "GTDT",
        "IORT",
        "MCFG",
        "PPTT",
        "RSDP",
        "SPCR",
        "XSDT",
    ]


def test_dmem_checksums_ok(dmem_facts):
    failed = [
        obs.value["signature"]
        for obs in dmem_facts.all("acpi.table")
        if obs.value["checksum_ok"] is False
    ]
    assert failed == []


def test_dmem_dsdt_header_only(dmem_facts):
    dsdt = [obs.value for obs in dmem_facts.all("acpi.table") if obs.value["signature"] == "DSDT"]
    assert dsdt[0]["checksum_ok"] is None
    assert dsdt[0]["length"] == 5224


def test_dmem_evidence_is_shell_line(dmem_facts):
    spcr = dmem_facts.first("acpi.spcr")
    assert spcr.evidence.source == UEFI_SHELL
    assert spcr.evidence.file == "qemu-virt-dmem.log"
    assert spcr.evidence.text.startswith("  7C43E818: 53 50 43 52")


def test_dmem_system_table(dmem_facts):
    assert dmem_facts.value("uefi.system_table") == {
        "acpi": 0,
        "acpi20": 0x7C430018,
        "smbios": 0x7FED0000,
    }


def test_dmem_xsdt_entries(dmem_facts):
    entries = dmem_facts.value("acpi.xsdt.entries")
    assert len(entries) == 8
    assert entries[0] == 0x7C43FA98


def test_dmem_spcr_and_rsdp(dmem_facts):
    assert dmem_facts.value("acpi.spcr")["baud"] == 9600
    assert dmem_facts.value("acpi.rsdp")["xsdt_address"] == 0x7C43FE98


def test_dmem_smbios(dmem_facts):
    assert dmem_facts.value("smbios.version") == "3.0"
    assert dmem_facts.value("smbios.entry_point") == "64-bit"
    assert dmem_facts.value("smbios.types") == [0, 1, 3, 4, 16, 17, 32, 127]
    assert dmem_facts.value("smbios.system")["product"] == "QEMU Virtual Machine"


def test_dmem_facts_are_json(dmem_facts):
    json.dumps({key: [obs.to_json() for obs in dmem_facts.all(key)] for key in dmem_facts.keys()})


def test_binary_folder_tables():
    facts = Facts()
    count = tables.facts_from_acpi_folder(QEMU, facts)
    assert count == 10
    assert signatures(facts) == [
        "APIC",
        "DBG2",
        "FACP",
        "GTDT",
        "IORT",
        "MCFG",
        "PPTT",
        "RSDP",
        "SPCR",
        "XSDT",
    ]
    assert facts.first("acpi.spcr").evidence.file.endswith("spcr.dat")


def test_binary_folder_without_tables(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InputFormatError, match="no ACPI table files"):
        tables.facts_from_acpi_folder(tmp_path, Facts())


def test_binary_concatenated_tables():
    data = (QEMU / "spcr.dat").read_bytes() + (QEMU / "gtdt.dat").read_bytes()
    facts = Facts()
    assert tables.facts_from_acpi_binary(data, facts, Evidence(ACPI_TABLE, "all.dat")) == 2
    assert signatures(facts) == ["GTDT", "SPCR"]
    spcr, gtdt = (obs.value for obs in facts.all("acpi.table"))
    assert "file_offset" not in spcr
    assert gtdt["file_offset"] == len((QEMU / "spcr.dat").read_bytes())
    assert gtdt["problems"] == []


def test_binary_rejects_text():
    with pytest.raises(InputFormatError, match="notes.txt"):
        tables.facts_from_acpi_binary(
            b"just some text, no table", Facts(), Evidence(ACPI_TABLE, "notes.txt")
        )


def test_acpidump_text_facts():
    facts = Facts()
    count = tables.facts_from_acpidump_text(text_lines("qemu-virt-acpidump.txt"), facts, "dump")
    assert count == 5
    assert facts.value("acpi.fadt")["psci_compliant"] is True
    assert facts.first("acpi.fadt").evidence.line == 16


def test_base64_dump_text_facts():
    encoded = base64.encodebytes((QEMU / "spcr.dat").read_bytes()).decode()
    lines = tables.lines_from_text("~ # base64 /sys/firmware/acpi/tables/SPCR\n" + encoded)
    facts = Facts()
    assert tables.facts_from_dump_text(lines, facts, "console.log") == 1
    assert facts.value("acpi.spcr")["interface_type"] == 3


def test_dsl_qemu_facts():
    facts = Facts()
    assert tables.facts_from_dsl_text(text_lines("qemu-virt.dsl"), facts, "qemu-virt.dsl") == 5
    assert facts.value("acpi.madt")["gicd"][0]["version"] == 3
    assert all(obs.value["checksum_ok"] for obs in facts.all("acpi.table"))


def test_dsl_case_sc7180():
    facts = Facts()
    tables.facts_from_dsl_text(text_lines("case-sc7180-spcr-gtdt-dbg2.dsl"), facts, "sc7180.dsl")
    assert signatures(facts) == ["DBG2", "GTDT", "SPCR"]
    assert facts.value("acpi.spcr")["interface_type"] == 17
    assert facts.value("acpi.spcr")["baud"] == 115200
    assert facts.value("acpi.gtdt")["watchdogs"] == []
    assert facts.value("acpi.gtdt")["blocks"] == 1
    assert facts.value("acpi.dbg2")["devices"][0]["namespace"] == "\\_SB.UARD"


def test_dsl_case_sc7180_fields_without_raw_data():
    lines = [
        line
        for line in text_lines("case-sc7180-spcr-gtdt-dbg2.dsl")
        if not line.text.startswith("    0")
    ]
    facts = Facts()
    tables.facts_from_dsl_text(lines, facts, "sc7180.dsl")
    assert facts.value("acpi.spcr")["baud"] == 115200
    assert facts.value("acpi.gtdt")["blocks"] == 1
    assert facts.value("acpi.dbg2")["devices"][1]["port_subtype"] == 0x5143


def test_dsl_case_graviton_cut_short():
    facts = Facts()
    tables.facts_from_dsl_text(text_lines("case-graviton-spcr-partial.dsl"), facts, "g.dsl")
    spcr = facts.value("acpi.spcr")
    assert spcr["interface_type"] == 0
    assert "baud" not in spcr
    assert facts.value("acpi.table")["checksum_ok"] is None


def test_dsl_cut_inside_header_leaves_fields_out():
    lines = text_lines("case-graviton-spcr-partial.dsl")
    # The disassembly up to the Revision line: the OEM fields at offsets 10 to 23 are missing.
    cut = next(index for index, line in enumerate(lines) if "Revision :" in line.text)
    facts = Facts()
    tables.facts_from_dsl_text(lines[: cut + 1], facts, "g.dsl")
    table = facts.value("acpi.table")
    assert table["signature"] == "SPCR"
    assert table["revision"] == 2
    assert "oem_id" not in table
    assert "oem_table_id" not in table
    problems = facts.value("acpi.spcr")["problems"]
    assert "disassembly ends inside the header, at offset 9" in problems
    assert not any(problem.startswith("truncated") for problem in problems)


def test_table_list_case_yoga():
    facts = Facts()
    count = tables.facts_from_table_list_text(
        text_lines("case-yoga-table-list-utf16.txt"), facts, "yoga.txt"
    )
    assert count == 4
    assert signatures(facts) == ["APIC", "BGRT", "FACS", "XSDT"]
    assert facts.value("acpi.table")["oem_id"] == "LENOVO"


def test_table_list_length_with_thousands_separator():
    lines = tables.lines_from_text("Signature : CSRT\nFirmware Provider : ACPI\nLength : 26,709\n")
    facts = Facts()
    tables.facts_from_table_list_text(lines, facts, "list.txt")
    assert facts.value("acpi.table")["length"] == 26709


@pytest.mark.parametrize(
    "helper, name, expected",
    [
        ("looks_like_dsl", "qemu-virt.dsl", True),
        ("looks_like_dsl", "case-graviton-spcr-partial.dsl", True),
        ("looks_like_dsl", "qemu-virt-acpidump.txt", False),
        ("looks_like_dsl", "iasl-ssdt.dsl", True),
        ("looks_like_acpidump", "qemu-virt-acpidump.txt", True),
        ("looks_like_acpidump", "qemu-virt.dsl", False),
        ("looks_like_dmidecode", "case-emag-dmidecode.txt", True),
        ("looks_like_dmidecode", "qemu-virt-dmidecode.txt", True),
        ("looks_like_dmidecode", "qemu-virt-acpidump.txt", False),
        ("looks_like_table_list", "case-yoga-table-list-utf16.txt", True),
        ("looks_like_table_list", "case-emag-dmidecode.txt", False),
        ("looks_like_dmem", "qemu-virt-dmem.log", True),
        ("looks_like_dmem", "qemu-virt.dsl", False),
    ],
)
def test_detection_helpers(helper, name, expected):
    head = tables.decode_text((FIXTURES / name).read_bytes()[:8192])
    assert getattr(tables, helper)(head) is expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("qemu-virt/spcr.dat", True),
        ("qemu-virt/rsdp.dat", True),
        ("qemu-virt-smbios.bin", False),
        ("qemu-virt.dsl", False),
    ],
)
def test_detection_acpi_binary(name, expected):
    assert tables.looks_like_acpi_binary((FIXTURES / name).read_bytes()) is expected


TEXT_READERS = [
    "facts_from_acpidump_text",
    "facts_from_dsl_text",
    "facts_from_dmidecode_text",
    "facts_from_table_list_text",
    "facts_from_dump_text",
    "facts_from_dmem_lines",
    "facts_from_acpiview_lines",
]


@pytest.mark.parametrize("reader", TEXT_READERS)
def test_text_readers_survive_random_bytes(reader):
    generator = random.Random(reader)
    data = bytes(generator.getrandbits(8) for _ in range(20000))
    getattr(tables, reader)(lines_from_bytes(data), Facts(), "random.bin")


@pytest.mark.parametrize("reader", TEXT_READERS)
def test_text_readers_survive_mangled_fixtures(reader):
    generator = random.Random(reader)
    for name in ("qemu-virt-dmem.log", "qemu-virt.dsl", "qemu-virt-acpidump.txt"):
        data = bytearray((FIXTURES / name).read_bytes())
        for _ in range(200):
            data[generator.randrange(len(data))] = generator.choice(b"0123456789ABCDEF \n:-")
        getattr(tables, reader)(lines_from_bytes(bytes(data)), Facts(), name)


@pytest.fixture(scope="module")
def gicv2_facts() -> Facts:
    # qemu 7.2 virt,gic-version=2 with 4 CPUs; each table was dumped twice,
    # first its header, then its whole length.
    facts = Facts()
    lines = lines_from_bytes((FIXTURES / "qemu-virt-gicv2-dmem.log").read_bytes())
    tables.facts_from_dmem_lines(lines, facts, "gicv2.log")
    return facts


def test_gicv2_madt(gicv2_facts):
    madt = gicv2_facts.value("acpi.madt")
    assert madt["gicd"][0]["version"] == 2
    assert madt["msi_frames"] == 1
    assert madt["gicr"] == 0
    assert madt["its"] == 0
    assert [gicc["uid"] for gicc in madt["gicc"]] == [0, 1, 2, 3]


def test_gicv2_tables_whole(gicv2_facts):
    values = [obs.value for obs in gicv2_facts.all("acpi.table")]
    assert [value["checksum_ok"] for value in values] == [True] * 10
    assert gicv2_facts.value("acpi.pptt")["processors"] == 4


def test_gicv2_evidence_is_whole_dump(gicv2_facts):
    spcr = gicv2_facts.first("acpi.spcr")
    lines = lines_from_bytes((FIXTURES / "qemu-virt-gicv2-dmem.log").read_bytes())
    before = lines[spcr.evidence.line - 2].text
    assert before.startswith("Memory Address")
    assert before.endswith(" 50 Bytes")


def test_dmem_configuration_table_names_smbios3():
    # This session dumped the system table and then its configuration table.
    facts = Facts()
    lines = lines_from_bytes((FIXTURES / "qemu-virt-systab-dmem.log").read_bytes())
    tables.facts_from_dmem_lines(lines, facts, "systab.log")
    pointers = facts.value("uefi.system_table")
    assert pointers["acpi20"] == 0x7C430018
    assert pointers["smbios3"] == 0x7FED0000
    assert "smbios" not in pointers
    assert facts.value("uefi.revision") == "2.70"
    assert facts.first("uefi.system_table").evidence.text.startswith("  7FFDFB18: ")


def test_dsl_aml_disassembly_header():
    # iasl 20200925 compiled a small SSDT and disassembled it again.
    facts = Facts()
    count = tables.facts_from_dsl_text(text_lines("iasl-ssdt.dsl"), facts, "ssdt.dsl")
    assert count == 1
    assert facts.value("acpi.table") == {
        "signature": "SSDT",
        "revision": 2,
        "length": 71,
        "oem_id": "ARMCHK",
        "oem_table_id": "TESTSSDT",
        "address": None,
        "checksum_ok": None,
        "problems": ["AML disassembly: header only"],
    }
    assert facts.first("acpi.table").evidence.line == 10


@pytest.mark.parametrize("reader", ["facts_from_acpi_binary", "facts_from_smbios_binary"])
def test_binary_readers_survive_mangled_tables(reader):
    generator = random.Random(reader)
    seeds = [path.read_bytes() for path in sorted(QEMU.glob("*.dat"))]
    seeds.append((FIXTURES / "qemu-virt-smbios.bin").read_bytes())
    for _ in range(1500):
        data = bytearray(generator.choice(seeds))
        for _ in range(generator.randrange(1, 8)):
            data[generator.randrange(len(data))] = generator.getrandbits(8)
        cut = generator.randrange(len(data) + 1)
        try:
            getattr(tables, reader)(bytes(data[:cut]), Facts(), Evidence(ACPI_TABLE, "m.bin"))
        except InputFormatError:
            pass


def test_dsl_case_sc7180_invalid_access_width():
    facts = Facts()
    tables.facts_from_dsl_text(text_lines("case-sc7180-spcr-gtdt-dbg2.dsl"), facts, "sc7180.dsl")
    spcr_problems = facts.value("acpi.spcr")["problems"]
    dbg2_problems = facts.value("acpi.dbg2")["problems"]
    assert "base address access size 32 (0x20) is not a valid encoding (0 to 4)" in spcr_problems
    assert len(dbg2_problems) == 3
