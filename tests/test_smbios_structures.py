"""Tests of the SMBIOS entry point and structure decoders and the dmidecode text reader.

The real data is the SMBIOS 3.0 entry point and table of qemu 7.2 `virt` with
edk2, dumped with the UEFI shell's `dmem`. It is laid out as `dmidecode
--dump-bin` and /sys/firmware/dmi/tables lay it out, and dmidecode 3.4 read
that dump into text. dmidecode 3.2 text from an Ampere eMAG board adds a
second real board.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from armcheck.errors import InputFormatError
from armcheck.facts import SMBIOS_TABLE, Evidence, Facts
from armcheck.parsers import tables
from armcheck.smbios import decode_entry_point, describe, walk_structures

FIXTURES = Path(__file__).parent / "fixtures" / "tables"
DUMP = FIXTURES / "qemu-virt-smbios.bin"
SYSFS = FIXTURES / "qemu-virt-dmi"


def build_entry_point_32(major: int = 2, minor: int = 8, good: bool = True) -> bytes:
    data = bytearray(b"_SM_" + bytes([0, 0x1F, major, minor]) + bytes(8))
    data += b"_DMI_" + bytes([0]) + (100).to_bytes(2, "little") + (0x1000).to_bytes(4, "little")
    data += (5).to_bytes(2, "little") + bytes([0x28])
    data[21] = (-sum(data[16:31])) % 256
    data[4] = (-sum(data[:31]) + (0 if good else 1)) % 256
    return bytes(data)


def test_entry_point_64bit_dump():
    entry = decode_entry_point(DUMP.read_bytes())
    assert entry.kind == "64-bit"
    assert entry.version == "3.0"
    assert entry.checksum_ok is True
    assert entry.table_address == 32
    assert entry.table_length == 0x154


def test_entry_point_32bit():
    entry = decode_entry_point(build_entry_point_32())
    assert entry.kind == "32-bit"
    assert entry.version == "2.8"
    assert entry.structure_count == 5
    assert entry.checksum_ok is True


def test_entry_point_32bit_bad_checksum():
    entry = decode_entry_point(build_entry_point_32(good=False))
    assert entry.checksum_ok is False
    assert entry.problems == ["32-bit entry point checksum is wrong"]


@pytest.mark.parametrize("data", [b"", b"_SM3_", b"_SM_" + bytes(10), b"RSD PTR " + bytes(30)])
def test_entry_point_rejects_other_bytes(data):
    with pytest.raises(InputFormatError):
        decode_entry_point(data)


def test_walk_qemu_types():
    table = walk_structures((SYSFS / "DMI").read_bytes())
    assert table.types == [0, 1, 3, 4, 16, 17, 32, 127]
    assert table.problems == []
    assert table.complete is True


def test_describe_qemu_strings():
    values = describe(walk_structures((SYSFS / "DMI").read_bytes()))
    assert values["smbios.bios"] == {
        "vendor": "EFI Development Kit II / OVMF",
        "version": "0.0.0",
        "release_date": "02/06/2015",
    }
    assert values["smbios.system"]["manufacturer"] == "QEMU"
    assert values["smbios.system"]["serial"] is None
    assert values["smbios.chassis"] == {"manufacturer": "QEMU", "type": "Other"}
    assert values["smbios.processor"][0]["cores"] == 2
    assert "smbios.baseboard" not in values


@pytest.mark.parametrize("cut", [3, 10, 30, 100, 200, 339])
def test_walk_truncated_table(cut):
    full = (SYSFS / "DMI").read_bytes()
    table = walk_structures(full[:cut])
    assert table.problems != []
    assert table.complete is False


def test_walk_keeps_cut_structure():
    # The type 1 structure takes bytes 0 to 62, and type 3 starts at offset 63.
    table = walk_structures((SYSFS / "DMI").read_bytes()[:70])
    assert table.types == [1, 3]
    assert table.structures[0].problem is None
    cut = table.structures[1]
    assert (
        cut.problem == "structure type 3 at offset 63 is cut short: length 22, only 7 bytes present"
    )
    assert table.problems == [cut.problem]


def test_walk_keeps_whole_strings_of_cut_set():
    # The type 1 structure's strings are QEMU, QEMU Virtual Machine and virt-7.2.
    table = walk_structures((SYSFS / "DMI").read_bytes()[:40])
    structure = table.structures[0]
    assert structure.strings == ["QEMU"]
    assert structure.problem == "strings of structure type 1 at offset 0 are cut short"


def test_describe_cut_structure_leaves_fields_out():
    values = describe(walk_structures((SYSFS / "DMI").read_bytes()[:68]))
    chassis = values["smbios.chassis"]
    assert "manufacturer" not in chassis
    assert "type" not in chassis
    assert chassis["problems"] == [
        "structure type 3 at offset 63 is cut short: length 22, only 5 bytes present",
        "manufacturer: field at offset 0x04 names string 1, but only 0 strings are present",
        "type: field at offset 0x05 is past the 5 bytes present",
    ]


def test_describe_cut_processor_counts():
    # Type 4 starts at offset 100 and is 48 bytes long. Its core count is at 0x23.
    values = describe(walk_structures((SYSFS / "DMI").read_bytes()[: 100 + 0x24]))
    processor = values["smbios.processor"][0]
    assert processor["cores"] == 2
    assert "threads" not in processor
    assert "threads: field at offset 0x25 is past the 36 bytes present" in processor["problems"]


def test_describe_cut_strings_keep_whole_ones():
    values = describe(walk_structures((SYSFS / "DMI").read_bytes()[:40]))
    system = values["smbios.system"]
    assert system["manufacturer"] == "QEMU"
    assert system["serial"] is None
    assert "product" not in system
    assert "version" not in system
    assert len(system["problems"]) == 3


def test_describe_whole_table_has_no_problems():
    values = describe(walk_structures((SYSFS / "DMI").read_bytes()))
    for key in ("smbios.bios", "smbios.system", "smbios.chassis"):
        assert "problems" not in values[key], key
    assert "problems" not in values["smbios.processor"][0]


def test_walk_length_below_header():
    table = walk_structures(bytes([0, 2, 0, 0, 0, 0]))
    assert table.structures == []
    assert table.problems == ["structure at offset 0 has an invalid length 2"]


def test_walk_string_number_out_of_range():
    structure = bytes([1, 8, 1, 0, 9, 1, 0, 0]) + b"Maker\x00\x00"
    table = walk_structures(structure)
    assert table.structures[0].string(4) is None
    assert table.structures[0].string(5) == "Maker"


def test_walk_random_bytes():
    generator = random.Random(3)
    for _ in range(500):
        data = bytes(generator.getrandbits(8) for _ in range(generator.randrange(0, 300)))
        describe(walk_structures(data))


def test_dump_bin_facts():
    facts = Facts()
    tables.facts_from_smbios_binary(DUMP.read_bytes(), facts, Evidence(SMBIOS_TABLE, "d.bin"))
    assert facts.value("smbios.version") == "3.0"
    assert facts.value("smbios.types") == [0, 1, 3, 4, 16, 17, 32, 127]
    assert facts.value("firmware.vendor") == "EFI Development Kit II / OVMF"


def test_sysfs_folder_facts():
    facts = Facts()
    tables.facts_from_smbios_folder(SYSFS, facts)
    assert facts.value("smbios.entry_point") == "64-bit"
    assert facts.value("smbios.system")["product"] == "QEMU Virtual Machine"


def test_bare_table_facts():
    facts = Facts()
    tables.facts_from_smbios_binary(
        (SYSFS / "DMI").read_bytes(), facts, Evidence(SMBIOS_TABLE, "DMI")
    )
    assert facts.seen("smbios.version") is False
    assert facts.value("smbios.bios")["version"] == "0.0.0"


def binary_facts(data: bytes) -> Facts:
    facts = Facts()
    tables.facts_from_smbios_binary(data, facts, Evidence(SMBIOS_TABLE, "damaged.bin"))
    return facts


def test_dump_bin_cut_short():
    facts = binary_facts(DUMP.read_bytes()[:100])
    shortfall = "table length 340, only 68 bytes present"
    assert facts.value("smbios.entry")["problems"] == [shortfall]
    assert facts.seen("smbios.types") is False
    assert facts.value("smbios.partial_types") == {
        "types": [1, 3],
        "problems": [
            shortfall,
            "structure type 3 at offset 63 is cut short: length 22, only 5 bytes present",
        ],
    }
    assert facts.value("smbios.system")["product"] == "QEMU Virtual Machine"


def test_dump_bin_entry_point_alone():
    facts = binary_facts(DUMP.read_bytes()[:24])
    assert facts.value("smbios.entry")["problems"] == ["table length 340, only 0 bytes present"]
    assert facts.seen("smbios.types") is False
    partial = facts.value("smbios.partial_types")
    assert partial["types"] == []
    assert partial["problems"][0] == "table length 340, only 0 bytes present"


def test_dump_bin_structure_length_damaged():
    data = bytearray(DUMP.read_bytes())
    data[32 + 1] = 0xFF  # the length of the first structure, type 1
    facts = binary_facts(bytes(data))
    system = facts.value("smbios.system")
    assert "manufacturer" not in system
    assert "product" not in system
    assert (
        "product: field at offset 0x05 names string 2, but only 0 strings are present"
        in (system["problems"])
    )
    assert facts.seen("smbios.types") is False
    assert facts.value("smbios.partial_types")["problems"] != []


def test_dump_bin_bytes_flipped():
    data = bytearray(DUMP.read_bytes())
    for offset in range(32, len(data), 5):
        data[offset] ^= 0xFF
    facts = binary_facts(bytes(data))
    assert facts.seen("smbios.types") is False
    assert facts.value("smbios.partial_types")["problems"] != []


def test_dump_bin_whole_table_records_types():
    facts = binary_facts(DUMP.read_bytes())
    assert facts.value("smbios.entry")["problems"] == []
    assert facts.seen("smbios.partial_types") is False


def test_sysfs_folder_without_dmi_file(tmp_path):
    (tmp_path / "smbios_entry_point").write_bytes((SYSFS / "smbios_entry_point").read_bytes())
    facts = Facts()
    tables.facts_from_smbios_folder(tmp_path, facts)
    assert facts.value("smbios.entry")["problems"] == ["table length 340, only 0 bytes present"]
    assert facts.value("smbios.partial_types")["types"] == []
    assert facts.seen("smbios.types") is False


def test_sysfs_folder_with_cut_dmi_file(tmp_path):
    (tmp_path / "smbios_entry_point").write_bytes((SYSFS / "smbios_entry_point").read_bytes())
    (tmp_path / "DMI").write_bytes((SYSFS / "DMI").read_bytes()[:200])
    facts = Facts()
    tables.facts_from_smbios_folder(tmp_path, facts)
    assert facts.value("smbios.entry")["problems"] == ["table length 340, only 200 bytes present"]
    assert facts.value("smbios.partial_types")["types"] == [1, 3, 4, 16, 17]


def test_bare_table_cut_early_rejected():
    with pytest.raises(InputFormatError, match="DMI"):
        tables.facts_from_smbios_binary(
            (SYSFS / "DMI").read_bytes()[:20], Facts(), Evidence(SMBIOS_TABLE, "DMI")
        )


def test_binary_rejects_text():
    with pytest.raises(InputFormatError, match="notes.txt"):
        tables.facts_from_smbios_binary(b"hello", Facts(), Evidence(SMBIOS_TABLE, "notes.txt"))


def dmidecode_facts(name: str) -> Facts:
    facts = Facts()
    lines = tables.lines_from_text((FIXTURES / name).read_text())
    tables.facts_from_dmidecode_text(lines, facts, name)
    return facts


def test_dmidecode_case_emag():
    facts = dmidecode_facts("case-emag-dmidecode.txt")
    assert facts.value("smbios.version") == "3.1"
    assert facts.value("firmware.vendor") == "Ampere(TM)"
    assert facts.value("firmware.version") == "1.0"
    # The poster cut the listing after type 4, so the types are not the whole table.
    assert facts.seen("smbios.types") is False
    assert facts.value("smbios.partial_types")["types"] == [0, 1, 2, 3, 4]
    assert facts.value("smbios.processor")[0]["cores"] == 32
    assert facts.value("smbios.chassis")["type"] == "Rack Mount Chassis"


def test_dmidecode_evidence_line():
    facts = dmidecode_facts("case-emag-dmidecode.txt")
    assert facts.first("smbios.version").evidence.line == 3
    assert facts.first("smbios.bios").evidence.line == 6


def test_dmidecode_matches_binary():
    text_facts = dmidecode_facts("qemu-virt-dmidecode.txt")
    binary_facts = Facts()
    tables.facts_from_smbios_binary(DUMP.read_bytes(), binary_facts, Evidence(SMBIOS_TABLE))
    for key in ("smbios.version", "smbios.types", "smbios.bios", "smbios.system", "smbios.chassis"):
        assert text_facts.value(key) == binary_facts.value(key), key


@pytest.mark.parametrize(
    "name, types", [("qemu-virt-dmidecode-t-bios.txt", [0]), ("qemu-virt-dmidecode-t-4.txt", [4])]
)
def test_dmidecode_filtered_by_type(name, types):
    facts = dmidecode_facts(name)
    assert facts.seen("smbios.types") is False
    assert facts.value("smbios.partial_types") == {
        "types": types,
        "problems": [
            "no End Of Table (type 127) record: the dmidecode output is filtered "
            "(-t or -H), cut short, or from a table without one"
        ],
    }


def test_dmidecode_filtered_keeps_record_fields():
    facts = dmidecode_facts("qemu-virt-dmidecode-t-4.txt")
    processor = facts.value("smbios.processor")[0]
    assert processor["cores"] == 2
    assert "problems" not in processor


def test_dmidecode_whole_listing_records_types():
    facts = dmidecode_facts("qemu-virt-dmidecode.txt")
    assert facts.value("smbios.types") == [0, 1, 3, 4, 16, 17, 32, 127]
    assert facts.seen("smbios.partial_types") is False


def test_dmidecode_text_ends_inside_record():
    text = (FIXTURES / "qemu-virt-dmidecode.txt").read_text()
    # Line 16 is the chassis record's Handle line, and its Type field is on line 19.
    lines = tables.lines_from_text("\n".join(text.split("\n")[:18]))
    facts = Facts()
    tables.facts_from_dmidecode_text(lines, facts, "cut.txt")
    chassis = facts.value("smbios.chassis")
    assert chassis["manufacturer"] == "QEMU"
    assert "type" not in chassis
    cut = "the text ends inside the type 3 record at line 16, which may be cut short"
    assert chassis["problems"] == [cut]
    assert cut in facts.value("smbios.partial_types")["problems"]


def test_end_of_table_wrong_length_incomplete():
    bios = bytes([0, 4, 0, 0]) + b"EDK II\x00\x00"
    end = bytes([127, 0x45, 0xFF, 0xFE]) + bytes(0x45 - 4) + b"\x00\x00"
    table = walk_structures(bios + end)
    assert not table.complete
    assert "End-of-Table structure at offset 12 has length 69, not 4" in table.problems


def test_dmidecode_undecoded_leaves_fields_out():
    # `dmidecode -u` prints each structure's bytes in hex, with no decoded fields.
    facts = dmidecode_facts("qemu-virt-dmidecode-u.txt")
    assert facts.value("smbios.types") == [0, 1, 3, 4, 16, 17, 32, 127]
    system = facts.value("smbios.system")
    assert "manufacturer" not in system
    assert "shows its bytes undecoded (dmidecode -u)" in system["problems"][0]
