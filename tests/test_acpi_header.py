"""Tests of the ACPI header, RSDP and XSDT walk decoders on real and hand-built bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from armcheck.acpi import decode_rsdp, decode_table, walk_rsdp
from armcheck.errors import InputFormatError

QEMU = Path(__file__).parent / "fixtures" / "tables" / "qemu-virt"


def build_table(
    signature: bytes,
    body: bytes = b"",
    revision: int = 1,
    length: int | None = None,
    fix_checksum: bool = True,
) -> bytes:
    """Build a table whose checksum is correct unless `fix_checksum` is False."""
    total = 36 + len(body)
    header = bytearray(signature)
    header += (total if length is None else length).to_bytes(4, "little")
    header += bytes([revision, 0]) + b"ARMCHK" + b"TESTTABL" + (1).to_bytes(4, "little")
    header += b"ACHK" + (2).to_bytes(4, "little")
    data = bytearray(header + body)
    if fix_checksum:
        data[9] = (-sum(data)) % 256
    else:
        data[9] = (1 - sum(data)) % 256
    return bytes(data)


def build_rsdp(xsdt: int, revision: int = 2, rsdt: int = 0) -> bytes:
    data = bytearray(b"RSD PTR " + b"\x00" + b"ARMCHK" + bytes([revision]))
    data += rsdt.to_bytes(4, "little") + (36).to_bytes(4, "little") + xsdt.to_bytes(8, "little")
    data += b"\x00\x00\x00\x00"
    data[8] = (-sum(data[:20])) % 256
    data[32] = (-sum(data)) % 256
    return bytes(data)


def test_header_qemu_spcr_fields():
    table = decode_table((QEMU / "spcr.dat").read_bytes())
    assert table.signature == "SPCR"
    assert table.length == 80
    assert table.revision == 2
    assert table.oem_id == "BOCHS"
    assert table.oem_table_id == "BXPC"
    assert table.creator_id == "BXPC"
    assert table.checksum_ok is True
    assert table.problems == []


def test_header_bad_checksum():
    table = decode_table(build_table(b"TEST", b"\x01\x02", fix_checksum=False))
    assert table.checksum_ok is False
    assert any("checksum" in problem for problem in table.problems)


def test_header_length_longer_than_data():
    table = decode_table(build_table(b"TEST", b"\x00" * 8, length=200))
    assert table.checksum_ok is None
    assert table.truncated
    assert any("truncated" in problem for problem in table.problems)


def test_header_length_shorter_than_header():
    table = decode_table(build_table(b"TEST", b"\x00" * 8, length=10))
    assert table.checksum_ok is None
    assert any("shorter than" in problem for problem in table.problems)


def test_header_extra_bytes_cut_to_length():
    data = build_table(b"TEST", b"\x05" * 4) + b"\xff" * 10
    table = decode_table(data)
    assert len(table.data) == 40
    assert table.checksum_ok is True


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"SPCR",
        b"\x00" * 40,
        b"SP\x01R" + b"\x00" * 40,
        b"hello world, not a table at all!!!!!!",
    ],
    ids=["empty", "signature-only", "zeros", "control-char", "text"],
)
def test_header_rejects_non_table(data):
    with pytest.raises(InputFormatError):
        decode_table(data, origin="sample.bin")


def test_rsdp_qemu():
    rsdp = decode_rsdp((QEMU / "rsdp.dat").read_bytes())
    assert rsdp.revision == 2
    assert rsdp.oem_id == "BOCHS"
    assert rsdp.xsdt_address == 0x7C43FE98
    assert rsdp.rsdt_address == 0
    assert rsdp.checksum_ok is True
    assert rsdp.extended_checksum_ok is True


def test_rsdp_revision0_has_no_xsdt():
    data = bytearray(build_rsdp(0, revision=0, rsdt=0x1000)[:20])
    data[8] = 0
    data[8] = (-sum(data)) % 256
    rsdp = decode_rsdp(bytes(data))
    assert rsdp.xsdt_address is None
    assert rsdp.rsdt_address == 0x1000
    assert rsdp.checksum_ok is True


def test_rsdp_bad_extended_checksum():
    data = bytearray(build_rsdp(0x2000))
    data[33] = 0x55
    rsdp = decode_rsdp(bytes(data))
    assert rsdp.checksum_ok is True
    assert rsdp.extended_checksum_ok is False


def test_rsdp_truncated_revision2():
    rsdp = decode_rsdp(build_rsdp(0x2000)[:24])
    assert rsdp.xsdt_address is None
    assert any("truncated" in problem for problem in rsdp.problems)


def test_rsdp_rejects_other_bytes():
    with pytest.raises(InputFormatError):
        decode_rsdp(b"RSD PTX " + b"\x00" * 30)


def memory_reader(regions: dict[int, bytes]):
    def read(address: int, length: int) -> bytes | None:
        for start, data in regions.items():
            if start <= address < start + len(data):
                return data[address - start : address - start + length]
        return None

    return read


def test_walk_qemu_tables():
    regions = {0x7C430018: (QEMU / "rsdp.dat").read_bytes()}
    xsdt = (QEMU / "xsdt.dat").read_bytes()
    regions[0x7C43FE98] = xsdt
    by_signature = {path.stem.upper(): path.read_bytes() for path in QEMU.glob("*.dat")}
    entries = [int.from_bytes(xsdt[offset : offset + 8], "little") for offset in range(36, 100, 8)]
    # Place each table at the address the XSDT names for it, in XSDT order.
    order = ["FACP", "APIC", "PPTT", "GTDT", "MCFG", "SPCR", "DBG2", "IORT"]
    for address, signature in zip(entries, order):
        regions[address] = by_signature[signature]
    walk = walk_rsdp(memory_reader(regions), 0x7C430018)
    assert [table.signature for table in walk.tables] == ["XSDT"] + order
    assert walk.entries == entries
    assert walk.problems == []


def test_walk_zero_and_missing_entries():
    xsdt_body = (0).to_bytes(8, "little") + (0x5000).to_bytes(8, "little")
    regions = {0x100: build_rsdp(0x2000), 0x2000: build_table(b"XSDT", xsdt_body)}
    walk = walk_rsdp(memory_reader(regions), 0x100)
    assert walk.entries == [0, 0x5000]
    assert "XSDT has a zero entry" in walk.problems
    assert "table at 0x5000 was not dumped" in walk.problems


def test_walk_rsdp_not_dumped():
    walk = walk_rsdp(memory_reader({}), 0x100)
    assert walk.rsdp is None
    assert walk.problems == ["RSDP at 0x100 was not dumped"]


def test_walk_uses_rsdt_without_xsdt():
    rsdt_body = (0x3000).to_bytes(4, "little")
    regions = {
        0x100: build_rsdp(0, rsdt=0x2000),
        0x2000: build_table(b"RSDT", rsdt_body),
        0x3000: build_table(b"SPCR", b"\x03" + b"\x00" * 43, revision=2),
    }
    walk = walk_rsdp(memory_reader(regions), 0x100)
    assert [table.signature for table in walk.tables] == ["RSDT", "SPCR"]


def test_rsdp_cut_short_names_size():
    with pytest.raises(InputFormatError, match="RSDP cut short: 18 bytes"):
        decode_rsdp((QEMU / "rsdp.dat").read_bytes()[:18])
