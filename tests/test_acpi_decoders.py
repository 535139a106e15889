"""Tests of the FADT, MADT, GTDT, SPCR, DBG2, MCFG, IORT and PPTT decoders.

Real tables come from qemu 7.2 `virt` with edk2, dumped with the UEFI shell's
`dmem`, and from the compiled data table templates of iasl 20200925
(`iasl -T`). Edge cases are built by hand.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from armcheck.acpi import decode_fields, decode_table
from armcheck.errors import InputFormatError

FIXTURES = Path(__file__).parent / "fixtures" / "tables"
QEMU = FIXTURES / "qemu-virt"
TEMPLATES = FIXTURES / "iasl-template"


def build_table(signature: bytes, body: bytes, revision: int = 2) -> bytes:
    data = bytearray(signature + (36 + len(body)).to_bytes(4, "little") + bytes([revision, 0]))
    data += b"ARMCHKTESTTABL" + bytes(4) + b"ACHK" + bytes(4) + body
    data[9] = (-sum(data)) % 256
    return bytes(data)


def decode(path: Path) -> dict:
    table = decode_table(path.read_bytes())
    result = decode_fields(table)
    assert result is not None
    return result[1]


def spcr_body(interface_type: int = 3, baud_code: int = 7) -> bytes:
    body = bytearray(44)
    body[0] = interface_type
    body[4:16] = bytes([0, 32, 0, 3]) + (0x9000000).to_bytes(8, "little")
    body[16] = 8
    body[18:22] = (33).to_bytes(4, "little")
    body[22] = baud_code
    body[24] = 1
    return bytes(body)


def test_fadt_qemu_flags():
    fadt = decode(QEMU / "facp.dat")
    assert fadt["revision"] == 6
    assert fadt["minor_revision"] == 0
    assert fadt["hw_reduced"] is True
    assert fadt["psci_compliant"] is True
    assert fadt["psci_use_hvc"] is True


def test_fadt_truncated_before_arm_flags():
    table = decode_table((QEMU / "facp.dat").read_bytes()[:120])
    fadt = decode_fields(table)[1]
    assert fadt["psci_compliant"] is None
    assert fadt["hw_reduced"] is True


def test_madt_qemu_gicv3():
    madt = decode(QEMU / "apic.dat")
    assert [gicc["mpidr"] for gicc in madt["gicc"]] == [0, 1]
    assert [gicc["enabled"] for gicc in madt["gicc"]] == [True, True]
    assert madt["gicd"][0]["version"] == 3
    assert madt["gicd"][0]["address"] == 0x8000000
    assert madt["gicr"] == 1
    assert madt["its"] == 1


def test_madt_template_counts_msi_frame():
    madt = decode(TEMPLATES / "apic.aml")
    assert madt["msi_frames"] == 1
    assert len(madt["gicc"]) == 1


def test_madt_zero_length_structure_stops():
    body = bytes(8) + bytes([0x0C, 24]) + bytes(22) + bytes([0x0B, 0])
    table = decode_table(build_table(b"APIC", body, revision=5))
    madt = decode_fields(table)[1]
    assert len(madt["gicd"]) == 1
    assert any("invalid length 0" in problem for problem in table.problems)


def test_gtdt_qemu_timers():
    gtdt = decode(QEMU / "gtdt.dat")
    assert gtdt["timers"]["non_secure_el1"] == {"gsiv": 30, "flags": 4}
    assert gtdt["timers"]["virtual_el1"]["gsiv"] == 27
    assert gtdt["watchdogs"] == []
    assert gtdt["blocks"] == 0


def test_gtdt_template_block_and_watchdog():
    table = decode_table((TEMPLATES / "gtdt.aml").read_bytes())
    gtdt = decode_fields(table)[1]
    assert gtdt["blocks"] == 1
    assert len(gtdt["watchdogs"]) == 1
    assert gtdt["timers"]["virtual_el2"]["gsiv"] == 0x43
    assert any("platform timer offset 96" in problem for problem in table.problems)


def gtdt_with_watchdog(flags: int, length: int = 28, count: int = 1) -> bytes:
    body = bytearray(60)
    body[52:56] = count.to_bytes(4, "little")
    body[56:60] = (96).to_bytes(4, "little")
    watchdog = bytearray(28)
    watchdog[0] = 1
    watchdog[1:3] = length.to_bytes(2, "little")
    watchdog[4:12] = (0x2A440000).to_bytes(8, "little")
    watchdog[12:20] = (0x2A450000).to_bytes(8, "little")
    watchdog[20:24] = (93).to_bytes(4, "little")
    watchdog[24:28] = flags.to_bytes(4, "little")
    return build_table(b"GTDT", bytes(body + watchdog), revision=2)


def test_gtdt_watchdog_fields():
    gtdt = decode_fields(decode_table(gtdt_with_watchdog(flags=4)))[1]
    assert gtdt["watchdogs"] == [
        {
            "refresh_frame": 0x2A440000,
            "control_frame": 0x2A450000,
            "gsiv": 93,
            "flags": 4,
            "secure": True,
        }
    ]


def test_gtdt_watchdog_length_past_end():
    table = decode_table(gtdt_with_watchdog(flags=0, length=40))
    gtdt = decode_fields(table)[1]
    assert gtdt["watchdogs"] == []
    assert any("runs past the end" in problem for problem in table.problems)


def test_gtdt_more_timers_announced_than_present():
    table = decode_table(gtdt_with_watchdog(flags=0, count=3))
    gtdt = decode_fields(table)[1]
    assert len(gtdt["watchdogs"]) == 1
    assert any("3 structures announced, 1 present" in p for p in table.problems)


def test_spcr_qemu_fields():
    spcr = decode(QEMU / "spcr.dat")
    assert spcr["interface_type"] == 3
    assert spcr["base_address"] == {
        "space_id": 0,
        "bit_width": 8,
        "bit_offset": 0,
        "access_size": 1,
        "address": 0x9000000,
    }
    assert spcr["interrupt_type"] == 8
    assert spcr["gsiv"] == 33
    assert spcr["baud_code"] == 3
    assert spcr["baud"] == 9600
    assert spcr["terminal_type"] == 0
    assert spcr["pci_device_id"] == 0xFFFF


@pytest.mark.parametrize("code, baud", [(0, None), (3, 9600), (4, 19200), (6, 57600), (7, 115200)])
def test_spcr_baud_codes(code, baud):
    spcr = decode_fields(decode_table(build_table(b"SPCR", spcr_body(baud_code=code))))[1]
    assert spcr["baud"] == baud


def test_spcr_reserved_baud_code():
    table = decode_table(build_table(b"SPCR", spcr_body(baud_code=5)))
    spcr = decode_fields(table)[1]
    assert spcr["baud"] is None
    assert "baud rate code 5 is reserved" in table.problems


def test_spcr_reserved_interface_type():
    table = decode_table(build_table(b"SPCR", spcr_body(interface_type=0x7F)))
    spcr = decode_fields(table)[1]
    assert spcr["interface_type"] == 0x7F
    assert "interface type 0x7F is reserved" in table.problems


def test_spcr_truncated_leaves_out_missing_fields():
    data = build_table(b"SPCR", spcr_body())[:56]
    spcr = decode_fields(decode_table(data))[1]
    assert spcr["interface_type"] == 3
    assert "base_address" in spcr
    assert "baud" not in spcr
    assert "gsiv" not in spcr


def test_spcr_revision4_precise_baud_and_namespace():
    body = bytearray(spcr_body(baud_code=7))
    body += (1500000).to_bytes(4, "little") + (8).to_bytes(2, "little") + (88).to_bytes(2, "little")
    body += b"\\_SB.COM"
    spcr = decode_fields(decode_table(build_table(b"SPCR", bytes(body), revision=4)))[1]
    assert spcr["baud"] == 1500000
    assert spcr["namespace"] == "\\_SB.COM"


def test_dbg2_qemu_pl011():
    dbg2 = decode(QEMU / "dbg2.dat")
    assert dbg2["devices"] == [
        {
            "revision": 0,
            "port_type": 0x8000,
            "port_subtype": 3,
            "addresses": [0x9000000],
            "address_sizes": [0x1000],
            "namespace": "COM0",
        }
    ]


def test_dbg2_count_beyond_data():
    data = bytearray((QEMU / "dbg2.dat").read_bytes())
    data[40] = 3
    data[9] = (data[9] - 2) % 256
    table = decode_table(bytes(data))
    dbg2 = decode_fields(table)[1]
    assert len(dbg2["devices"]) == 1
    assert any("device 1 is cut short" in problem for problem in table.problems)


def test_mcfg_qemu_segment():
    mcfg = decode(QEMU / "mcfg.dat")
    assert mcfg["segments"] == [
        {"base": 0x4010000000, "segment": 0, "start_bus": 0, "end_bus": 255}
    ]


def test_iort_node_types():
    assert decode(QEMU / "iort.dat")["nodes"] == [0, 2]
    assert decode(TEMPLATES / "iort.aml")["nodes"] == [0, 1, 2, 3, 4, 5]


def test_pptt_qemu_processors():
    pptt = decode(QEMU / "pptt.dat")
    assert pptt["processors"] == 2
    assert pptt["hierarchy_nodes"] == 4


SIGNATURES = [b"FACP", b"APIC", b"GTDT", b"SPCR", b"DBG2", b"MCFG", b"IORT", b"PPTT"]


@pytest.mark.parametrize("signature", SIGNATURES, ids=[s.decode() for s in SIGNATURES])
def test_decoders_survive_random_bodies(signature):
    generator = random.Random(signature)
    for _ in range(300):
        body = bytes(generator.getrandbits(8) for _ in range(generator.randrange(0, 200)))
        table = decode_table(build_table(signature, body, revision=generator.randrange(0, 6)))
        key, value = decode_fields(table)
        assert isinstance(value, dict)


def test_random_bytes_give_table_or_input_error():
    generator = random.Random(7)
    for _ in range(2000):
        data = bytes(generator.getrandbits(8) for _ in range(generator.randrange(0, 120)))
        try:
            table = decode_table(data)
        except InputFormatError:
            continue
        decode_fields(table)


def test_gtdt_truncated_before_platform_timers():
    data = (QEMU / "gtdt.dat").read_bytes()[:80]
    gtdt = decode_fields(decode_table(data))[1]
    assert "watchdogs" not in gtdt
    assert gtdt["timers"]["el2"]["gsiv"] == 26
