"""Tests of the EFI system table and configuration table decoders."""

from __future__ import annotations

import uuid

from armcheck.acpi.efi import configuration_pointers, decode_system_table

ACPI20 = uuid.UUID("8868E871-E4F1-11D3-BC22-0080C73C8881")
SMBIOS = uuid.UUID("EB9D2D31-2D88-11D3-9A16-0090273FC14D")
OTHER = uuid.UUID("05AD34BA-6F02-4214-952E-4DA0398E2BB9")


def system_table(revision: int, count: int, pointer: int) -> bytes:
    data = bytearray(0x78)
    data[:8] = b"IBI SYST"
    data[8:12] = revision.to_bytes(4, "little")
    data[0x68:0x70] = count.to_bytes(8, "little")
    data[0x70:0x78] = pointer.to_bytes(8, "little")
    return bytes(data)


def entry(guid: uuid.UUID, pointer: int) -> bytes:
    return guid.bytes_le + pointer.to_bytes(8, "little")


def test_system_table_fields():
    table = decode_system_table(system_table(0x00020046, 9, 0x7FFDFB18))
    assert table.revision == "2.70"
    assert table.entry_count == 9
    assert table.configuration_table == 0x7FFDFB18


def test_system_table_rejects_other_bytes():
    assert decode_system_table(b"RSD PTR " + bytes(200)) is None
    assert decode_system_table(b"IBI SYST" + bytes(10)) is None


def test_system_table_implausible_count():
    table = decode_system_table(system_table(0x00020046, 1 << 40, 0x1000))
    assert table.entry_count == 0
    assert table.problems != []


def test_configuration_pointers_by_guid():
    data = entry(OTHER, 0x1000) + entry(SMBIOS, 0x2000) + entry(ACPI20, 0x3000)
    assert configuration_pointers(data) == {"smbios": 0x2000, "acpi20": 0x3000}


def test_configuration_pointers_ignore_cut_entry():
    data = entry(SMBIOS, 0x2000) + entry(ACPI20, 0x3000)[:20]
    assert configuration_pointers(data) == {"smbios": 0x2000}
