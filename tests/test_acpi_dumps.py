"""Tests of the hex and base64 dump readers: UEFI shell dmem, acpidump, iasl, hexdump -C."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from armcheck.acpi.dsl import read_dsl
from armcheck.acpi.dumps import parse_hex_line, read_acpidump, read_base64_runs, read_dmem
from armcheck.parsers.tables import decode_text, lines_from_text
from armcheck.transcript import lines_from_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "tables"


@pytest.mark.parametrize(
    "text, offset, data",
    [
        (
            "  7C430018: 52 53 44 20 50 54 52 20-50 42 4F 43 48 53 20 02  *RSD PTR PBOCHS .*",
            0x7C430018,
            b"RSD PTR PBOCHS \x02",
        ),
        (
            "  7C430038: 87 00 00 00                                      *....*",
            0x7C430038,
            b"\x87\x00\x00\x00",
        ),
        (
            "  7FFD0088: 18 FB FD 7F 00 00 00 00-                         *........*",
            0x7FFD0088,
            b"\x18\xfb\xfd\x7f\x00\x00\x00\x00",
        ),
        (
            "    0010: 42 58 50 43 20 20 20 20 01 00 00 00 42 58 50 43  BXPC    ....BXPC",
            0x10,
            b"BXPC    \x01\x00\x00\x00BXPC",
        ),
        ("    0050: FF FF  AB CD", 0x50, b"\xff\xff"),
        (
            "    0090: 26 00 00 00 00 00 00 00 02 00 00 00              // &...........",
            0x90,
            b"&" + bytes(7) + b"\x02\x00\x00\x00",
        ),
        (
            "00000000  53 50 43 52 50 00 00 00  02 cb 42 4f 43 48 53 20  |SPCRP.....BOCHS |",
            0,
            b"SPCRP\x00\x00\x00\x02\xcbBOCHS ",
        ),
    ],
    ids=[
        "dmem",
        "dmem-short",
        "dmem-dash-end",
        "acpidump",
        "acpidump-ascii-hex",
        "iasl-raw",
        "hexdump-C",
    ],
)
def test_hex_line_formats(text, offset, data):
    line = parse_hex_line(text)
    assert line is not None
    assert line.offset == offset
    assert line.data == data


@pytest.mark.parametrize("text", ["", "Shell> dmem", "FACP @ 0x0000", "Handle 0x0000, DMI type 0"])
def test_hex_line_rejects_other_text(text):
    assert parse_hex_line(text) is None


def test_dmem_qemu_capture_blocks():
    data = (FIXTURES / "qemu-virt-dmem.log").read_bytes()
    dump = read_dmem(lines_from_bytes(data))
    assert dump.pointers["acpi20"][0] == 0x7C430018
    assert dump.pointers["smbios"][0] == 0x7FED0000
    assert dump.memory.read(0x7C430018, 8) == b"RSD PTR "
    assert dump.memory.read(0x7C43E818, 4) == b"SPCR"
    assert len(dump.memory.read(0x7C43FE98, 0x80)) == 0x80


def test_dmem_pointer_line_number():
    data = (FIXTURES / "qemu-virt-dmem.log").read_bytes()
    lines = lines_from_bytes(data)
    dump = read_dmem(lines)
    line = dump.pointers["acpi20"][1]
    assert line.text.startswith("ACPI 2.0 Table")


def test_dmem_ignores_hex_without_header():
    lines = lines_from_text(
        "  7C430018: 52 53 44 20 50 54 52 20-50 42 4F 43 48 53 20 02  *RSD PTR*"
    )
    assert read_dmem(lines).memory.blocks == []


def test_acpidump_tables():
    text = (FIXTURES / "qemu-virt-acpidump.txt").read_text()
    tables = read_acpidump(lines_from_text(text))
    assert [table.name for table in tables] == ["SPCR", "GTDT", "FACP", "APIC", "DBG2"]
    assert tables[0].data == (FIXTURES / "qemu-virt" / "spcr.dat").read_bytes()
    assert tables[3].data == (FIXTURES / "qemu-virt" / "apic.dat").read_bytes()


def test_acpidump_address_zero_is_unknown():
    # This acpidump read /sys/firmware/acpi/tables and printed every address as 0.
    text = (FIXTURES / "qemu-virt-acpidump.txt").read_text()
    text = text.replace("SPCR @ 0x0000000000000000", "SPCR @ 0x000000007C430000", 1)
    tables = read_acpidump(lines_from_text(text))
    assert tables[0].address == 0x7C430000
    assert tables[1].address is None


def test_base64_run_decodes_table():
    raw = (FIXTURES / "qemu-virt" / "gtdt.dat").read_bytes()
    encoded = base64.encodebytes(raw).decode()
    text = "# base64 /sys/firmware/acpi/tables/GTDT\n" + encoded + "# \n"
    runs = list(read_base64_runs(lines_from_text(text)))
    assert [run.data for run in runs] == [raw]
    assert runs[0].line.number == 2


def test_dsl_raw_data_matches_binary():
    text = (FIXTURES / "qemu-virt.dsl").read_text()
    tables = read_dsl(lines_from_text(text))
    assert [table.signature for table in tables] == ["SPCR", "GTDT", "DBG2", "FACP", "APIC"]
    assert bytes(tables[0].raw) == (FIXTURES / "qemu-virt" / "spcr.dat").read_bytes()


def test_dsl_fields_rebuild_table_without_raw_data():
    text = (FIXTURES / "qemu-virt.dsl").read_text().split("Raw Table Data", 1)[0]
    tables = read_dsl(lines_from_text(text))
    table = tables[0].table()
    assert table.data == (FIXTURES / "qemu-virt" / "spcr.dat").read_bytes()
    assert table.checksum_ok is None


def test_decode_text_utf16_with_bom():
    text = decode_text((FIXTURES / "case-yoga-table-list-utf16.txt").read_bytes())
    assert "Signature         : APIC" in text


def test_decode_text_utf16_without_bom():
    assert decode_text("Signature : APIC\r\n".encode("utf-16-le")) == "Signature : APIC\r\n"


def test_dmem_repeated_dump_extends_block():
    header = (
        "Memory Address 0000000000001000 8 Bytes\n  00001000: 58 53 44 54 64 00 00 00  *XSDTd...*\n"
    )
    whole = (
        "Memory Address 0000000000001000 10 Bytes\n"
        "  00001000: 58 53 44 54 64 00 00 00-01 02 03 04 05 06 07 08  *XSDTd...........*\n"
    )
    dump = read_dmem(lines_from_text(header + whole))
    assert len(dump.memory.blocks) == 1
    assert dump.memory.read(0x1000, 16) == b"XSDTd\x00\x00\x00" + bytes(range(1, 9))


@pytest.mark.parametrize("signature", ["SPCR", "GTDT", "DBG2", "FACP", "APIC"])
def test_dsl_fields_rebuild_each_qemu_table(signature):
    lines = [
        line
        for line in lines_from_text((FIXTURES / "qemu-virt.dsl").read_text())
        if not line.text.startswith("    0")
    ]
    rebuilt = {table.signature: table.table() for table in read_dsl(lines)}
    expected = (FIXTURES / "qemu-virt" / f"{signature.lower()}.dat").read_bytes()
    assert rebuilt[signature].data == expected


def test_dsl_hex_length_column():
    # iasl releases from 2023 print the field length in hex: [024h 0036 001h].
    text = (
        '[000h 0000 004h]                   Signature : "SPCR"    [Serial Port Console]\n'
        "[004h 0004 004h]                Table Length : 00000050\n"
        "[008h 0008 001h]                    Revision : 02\n"
        "[024h 0036 001h]              Interface Type : 0E\n"
    )
    table = read_dsl(lines_from_text(text))[0].table()
    assert table.signature == "SPCR"
    assert table.data[36] == 0x0E
    assert table.revision == 2


def test_dmem_above_4gib_uses_header_address():
    # edk2 prints only the low 32 bits of the address on each hex line.
    text = (
        "Memory Address 0000008FFCAC0000 20 Bytes\n"
        "  FCAC0000: 5F 53 4D 33 5F 93 18 03-00 00 01 00 54 01 00 00  *_SM3_.......T...*\n"
        "  FCAC0010: 00 00 EC 7F 00 00 00 00-00 00 00 00 00 00 00 00  *................*\n"
    )
    memory = read_dmem(lines_from_text(text)).memory
    assert memory.read(0x8FFCAC0000, 5) == b"_SM3_"
    assert memory.read(0x8FFCAC0010, 4) == b"\x00\x00\xec\x7f"
    assert memory.read(0xFCAC0000, 5) is None
