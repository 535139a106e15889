"""The firmware banner parser: TianoCore, EDK2, AMI, U-Boot, TF-A, phases, countdowns."""

from __future__ import annotations

import pytest

from armcheck.facts import BANNER, Facts
from armcheck.parsers.stream import LogParser


def parse_lines(*lines: str) -> Facts:
    facts = Facts()
    parser = LogParser(facts, "console.log")
    for number, text in enumerate(lines, 1):
        parser.feed(number, text)
    parser.finish()
    return facts


def test_tianocore_banner_and_board_lines() -> None:
    # The banner layout of the Gigabyte MP30-AR0 firmware.
    facts = parse_lines(
        "TianoCore 1.20.03 UEFI 2.4.0 Jan 26 2016 18:09:04",
        "CPU: APM ARM 64-bit Potenza Rev B0 2400MHz PCP 2400MHz",
        "     32 KB ICACHE, 32 KB DCACHE",
        "Board: GIGABYTE MP30-AR0",
        "The default boot selection will start in   5 seconds",
    )
    assert facts.value("firmware.vendor") == "TianoCore"
    assert facts.value("firmware.version") == "1.20.03"
    assert facts.value("uefi.revision") == "2.4.0"
    assert facts.value("firmware.release_date") == "Jan 26 2016 18:09:04"
    info = facts.value("firmware.info")
    assert info["CPU"] == "APM ARM 64-bit Potenza Rev B0 2400MHz PCP 2400MHz"
    assert info["Board"] == "GIGABYTE MP30-AR0"
    assert facts.first("firmware.version").evidence.source == BANNER


def test_edk2_banner_with_version() -> None:
    facts = parse_lines("UEFI firmware (version 2.2.0 built at 12:00:00 on Jan  1 2024)")
    assert facts.value("firmware.version") == "2.2.0"
    assert facts.value("firmware.release_date") == "Jan  1 2024 12:00:00"


def test_edk2_banner_without_version() -> None:
    facts = parse_lines("UEFI firmware (version  built at 06:38:15 on Jan 21 2026)")
    assert not facts.seen("firmware.version")
    assert facts.seen("firmware.banner")


def test_ami_aptio_banner() -> None:
    facts = parse_lines("Version 2.20.1271. Copyright (C) 2019 American Megatrends, Inc.")
    assert facts.value("firmware.vendor") == "American Megatrends"
    assert facts.value("firmware.version") == "2.20.1271"


def test_uboot_banner_and_board_lines() -> None:
    facts = parse_lines(
        "U-Boot 2023.07.02-g (Jul 11 2023 - 15:20:44 +0000) Allwinner Technology",
        "",
        "CPU:   Allwinner H616 (SUN50I)",
        "Model: OrangePi Zero2",
        "DRAM:  1 GiB",
        "Hit any key to stop autoboot:  2 ",
    )
    assert facts.value("firmware.vendor") == "U-Boot"
    assert facts.value("firmware.version") == "2023.07.02-g"
    assert facts.value("firmware.info")["Model"] == "OrangePi Zero2"
    assert facts.value("firmware.countdown")["seconds"] == 2


def test_tfa_version() -> None:
    facts = parse_lines("NOTICE:  BL31: v2.9(release):v2.9.0-dirty")
    assert facts.value("tfa.version") == "v2.9(release):v2.9.0-dirty"


def test_tfa_build_line_ignored() -> None:
    facts = parse_lines("NOTICE:  BL31: Built : 14:12:59, May 22 2023")
    assert not facts.seen("tfa.version")


@pytest.mark.parametrize(
    ("line", "phase"),
    [
        ("SecCoreStartupWithStack(0xFFFCC000, 0x820000)", "SEC"),
        ("Loading PEIM at 0x0000082E000 EntryPoint=0x0000082E2C0 PcdPeim.efi", "PEI"),
        ("DXE IPL Entry", "DXE"),
        ("[Bds] Entry...", "BDS"),
    ],
)
def test_edk2_debug_phase(line: str, phase: str) -> None:
    assert parse_lines(line).value("firmware.phase") == phase


def test_bds_boot_option() -> None:
    facts = parse_lines(
        'BdsDxe: loading Boot0001 "EFI Internal Shell" from Fv(64074AFE)/FvFile(7C04A583)',
        'BdsDxe: starting Boot0001 "EFI Internal Shell" from Fv(64074AFE)/FvFile(7C04A583)',
    )
    assert [obs.value for obs in facts.all("firmware.boot_option")] == [
        'Boot0001 "EFI Internal Shell"'
    ]


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("Press ESC in 5 seconds to skip startup.nsh or any other key to continue.", 5),
        ("Press ESCAPE for boot options ...........", None),
        ("Hit any key to stop autoboot:  0 ", 0),
    ],
)
def test_countdown(line: str, seconds: int | None) -> None:
    assert parse_lines(line).value("firmware.countdown")["seconds"] == seconds
