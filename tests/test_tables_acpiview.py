"""Tests of the UEFI shell `acpiview` reader.

The Debian AAVMF shell has no acpiview command, so these tests lay out the
qemu tables the way edk2's acpiview prints them (heading, raw dump with a
"- " between the two groups of eight bytes, checksum line, header fields).
"""

from __future__ import annotations

from pathlib import Path

from armcheck.facts import UEFI_SHELL, Facts
from armcheck.parsers import tables

QEMU = Path(__file__).parent / "fixtures" / "tables" / "qemu-virt"


def acpiview_text(signature: str, data: bytes, address: int, checksum: str = "OK") -> str:
    out = [f" --------------- {signature} Table --------------- ", ""]
    out.append(f"Address  : 0x{address:X}")
    out.append(f"Length   : {len(data)}")
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        pairs = [f"{byte:02X} " for byte in chunk]
        if len(pairs) > 8:
            pairs.insert(8, "- ")
        text = "".join(pairs).ljust(50)
        ascii_column = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        out.append(f"{offset:08X} : {text}  {ascii_column}")
    out += ["", f"Table Checksum : {checksum}", "", "ACPI Table Header                    :"]
    out.append(f"  Signature                          : {signature}")
    out.append(f"  Length                             : {len(data)}")
    out.append(f"  Revision                           : {data[8]}")
    out.append("  Oem ID                             : BOCHS ")
    return "\n".join(out) + "\n"


def read(text: str) -> Facts:
    facts = Facts()
    tables.facts_from_acpiview_lines(tables.lines_from_text(text), facts, "shell.log")
    return facts


def test_acpiview_decodes_raw_dump():
    facts = read(acpiview_text("SPCR", (QEMU / "spcr.dat").read_bytes(), 0x7C43E818))
    assert facts.value("acpi.spcr")["baud"] == 9600
    assert facts.value("acpi.table")["address"] == 0x7C43E818
    assert facts.first("acpi.spcr").evidence.source == UEFI_SHELL


def test_acpiview_rsdp_and_several_tables():
    text = acpiview_text("RSDP", (QEMU / "rsdp.dat").read_bytes(), 0x7C430018)
    text += acpiview_text("GTDT", (QEMU / "gtdt.dat").read_bytes(), 0x7C43D898)
    facts = read(text)
    assert facts.value("acpi.rsdp")["xsdt_address"] == 0x7C43FE98
    assert facts.value("acpi.gtdt")["watchdogs"] == []


def test_acpiview_cut_dump_keeps_header():
    text = acpiview_text("SPCR", (QEMU / "spcr.dat").read_bytes(), 0x7C43E818)
    lines = [line for line in text.splitlines() if not line.startswith("00000020")]
    facts = read("\n".join(lines))
    value = facts.value("acpi.table")
    assert value["signature"] == "SPCR"
    assert value["revision"] == 2
    assert value["oem_id"] == "BOCHS"
    assert facts.seen("acpi.spcr") is False


def test_acpiview_checksum_disagreement_keeps_header():
    text = acpiview_text("SPCR", (QEMU / "spcr.dat").read_bytes(), 0x7C43E818, "FAILED (0x3)")
    value = read(text).value("acpi.table")
    assert value["checksum_ok"] is False
    assert value["problems"] == ["the raw dump was incomplete; header fields only"]


def test_acpiview_table_list():
    text = "\nInstalled Table(s):\n\t   1. RSDP\n\t   2. XSDT\n\t   3. FACP\n"
    facts = read(text)
    assert sorted(obs.value["signature"] for obs in facts.all("acpi.table")) == [
        "FACP",
        "RSDP",
        "XSDT",
    ]


def test_acpiview_detection():
    assert tables.looks_like_acpiview("\nInstalled Table(s):\n\t   1. RSDP\n") is True
    assert tables.looks_like_acpiview("Shell> ver\n") is False
