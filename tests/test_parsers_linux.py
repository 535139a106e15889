"""The Linux boot log parser, one kernel message family at a time."""

from __future__ import annotations

import pytest

from armcheck.facts import LINUX_LOG, Facts
from armcheck.parsers.stream import LogParser


def parse_lines(*lines: str) -> Facts:
    facts = Facts()
    parser = LogParser(facts, "boot.log")
    for number, text in enumerate(lines, 1):
        parser.feed(number, text)
    parser.finish()
    return facts


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [
        (
            "[    0.000000] Linux version 6.1.0-57-arm64 (debian-kernel@lists.debian.org) (gcc)",
            "linux.version",
            "6.1.0-57-arm64",
        ),
        (
            "[    0.000000] Kernel command line: console=ttyAMA0 root=/dev/vda",
            "linux.cmdline",
            "console=ttyAMA0 root=/dev/vda",
        ),
        (
            "[    0.000000] efi: EFI v2.7 by EDK II",
            "linux.efi",
            {"revision": "2.7", "vendor": "EDK II"},
        ),
        (
            "[    0.000000] efi: EFI v2.40 by X-Gene Mustang Board EFI Oct 17 2016 13:54:05",
            "linux.efi",
            {"revision": "2.40", "vendor": "X-Gene Mustang Board EFI Oct 17 2016 13:54:05"},
        ),
        ("[    0.000000] efi: UEFI not found.", "linux.efi", None),
        (
            "[    0.000000] efi: ACPI 2.0=0x9ff5b40000 SMBIOS 3.0=0x9ff686fd98 ESRT=0x9ff1d18298",
            "linux.efi_tables",
            {"ACPI 2.0": 0x9FF5B40000, "SMBIOS 3.0": 0x9FF686FD98, "ESRT": 0x9FF1D18298},
        ),
        ("EFI stub: Booting Linux Kernel...", "linux.efi_stub", True),
        ("[    0.000000] Machine model: FVP Base RevC", "linux.machine_model", "FVP Base RevC"),
        ("[    0.038714] ACPI: Interpreter disabled.", "linux.acpi_disabled", True),
        (
            "[    0.000000] ACPI: SPCR: console: pl011,mmio32,0x1c090000,115200",
            "console.spcr",
            "pl011,mmio32,0x1c090000,115200",
        ),
        (
            "[    0.000000] earlycon: pl11 at MMIO32 0x000000001c090000 (options '115200')",
            "console.earlycon",
            "pl11,mmio32,0x000000001c090000,115200",
        ),
        ("[    1.314857] printk: console [ttyS0] enabled", "console.device", "ttyS0"),
        ("[    1.403552] console [ttyS0] enabled", "console.device", "ttyS0"),
        ("[    0.001059] printk: console [tty1] enabled", "console.screen", "tty1"),
        (
            "[    0.014267] DMI: AppliedMicro X-Gene Mustang Board/X-Gene Mustang Board, "
            "BIOS 3.06.25 Oct 17 2016",
            "linux.dmi_bios",
            {"version": "3.06.25", "release_date": "Oct 17 2016"},
        ),
        ("[    0.013905] DMI not present or invalid.", "linux.dmi", None),
        ("[    0.014257] SMBIOS 3.0.0 present.", "smbios.version", "3.0"),
        (
            "[    7.983874] Hardware name: GIGABYTE R120-T33/MT30-GS1, BIOS F02 08/06/2019",
            "linux.hardware_name_bios",
            {"version": "F02", "release_date": "08/06/2019"},
        ),
        ("[    0.000000] psci: PSCIv1.1 detected in firmware.", "psci.version", "1.1"),
        ("[    0.000000] psci: is not implemented in ACPI.", "psci.version", None),
        ("[    0.000000] psci: SMC Calling Convention v1.5", "smccc.version", "1.5"),
        ("[    0.000000] GICv3: 224 SPIs implemented", "gic.version", 3),
        ("[    0.000000] GIC: Using split EOI/Deactivate mode", "gic.version", 2),
        ("[    0.0] GIC: enabling workaround for GICv3: Cavium erratum 38539", "gic.version", 3),
        ("[    0.000000] ITS [mem 0x2f020000-0x2f03ffff]", "gic.its", 1),
        (
            "[    0.000000] GICv2m: range[mem 0x08020000-0x08020fff], SPI[80:143]",
            "gic.v2m_frames",
            1,
        ),
        ("[    0.006603] SMP: Total of 4 processors activated.", "cpu.online", 4),
        ("[    0.005921] smp: Brought up 1 node, 8 CPUs", "cpu.online", 8),
        ("[    1.880925] rtc-efi rtc-efi.0: registered as rtc0", "rtc.driver", "rtc-efi"),
        ("[    0.151918] sun6i-rtc 7000000.rtc: registered as rtc0", "rtc.driver", "sun6i-rtc"),
        (
            "[    1.405132] rtc-efi rtc-efi: rtc core: registered rtc-efi as rtc0",
            "rtc.driver",
            "rtc-efi",
        ),
        ("[    1.4] ACPI GTDT: found 1 SBSA generic Watchdog(s).", "acpi.gtdt.watchdog_count", 1),
        (
            "[    1.905736] sbsa-gwdt sbsa-gwdt.0: Initialized with 10s timeout @ 100000000 Hz",
            "watchdog.driver",
            "sbsa-gwdt",
        ),
        (
            "[    0.360000] pci-host-generic 4010000000.pcie: "
            "ECAM at [mem 0x4010000000-0x401fffffff] for [bus 00-ff]",
            "pcie.ecam",
            "0x4010000000-0x401fffffff bus 00-ff",
        ),
        ("[    2.321948] Run /sbin/init as init process", "linux.init", "/sbin/init"),
        ("buildroot login: ", "linux.login_prompt", True),
        (
            "[    2.183772] ARMH0011:00: ttyAMA0 at MMIO 0x87e024000000 (irq = 21, base_baud = 0)"
            " is a SBSA",
            "console.uart",
            {"device": "ttyAMA0", "type": "SBSA", "address": 0x87E024000000},
        ),
        (
            "[    0.223610] 5000000.serial: ttyS0 at MMIO 0x5000000 "
            "(irq = 284, base_baud = 1500000) is a 16550A",
            "console.uart",
            {"device": "ttyS0", "type": "16550A", "address": 0x5000000},
        ),
    ],
)
def test_linux_message(line: str, key: str, value: object) -> None:
    facts = parse_lines(line)
    assert facts.seen(key), f"{key} not recorded from {line!r}"
    assert facts.value(key) == value


def test_linux_evidence_names_line_and_time() -> None:
    facts = parse_lines("noise", "[    0.500000] psci: PSCIv1.0 detected in firmware.")
    evidence = facts.first("psci.version").evidence
    assert evidence.source == LINUX_LOG
    assert evidence.file == "boot.log"
    assert evidence.line == 2
    assert evidence.time == pytest.approx(0.5)


def test_linux_acpi_table_list() -> None:
    facts = parse_lines(
        "[    0.000000] ACPI: RSDP 0x0000009FF5B40000 000024 (v02 ALASKA)",
        "[    0.000000] ACPI: XSDT 0x0000009FF5B40028 000094 (v01 ALASKA A M I    01072009 AMI  "
        "00010013)",
        "[    0.000000] ACPI: SPCR 0x0000009FF5B49AD0 000050 (v02 A M I  APTIO V  01072009 AMI. "
        "0005000D)",
    )
    tables = {obs.value["signature"]: obs.value for obs in facts.all("acpi.table")}
    assert facts.value("acpi.rsdp") == {"revision": 2, "oem_id": "ALASKA", "address": 0x9FF5B40000}
    assert sorted(tables) == ["SPCR", "XSDT"]
    assert tables["SPCR"]["oem_id"] == "A M I"
    assert tables["SPCR"]["oem_table_id"] == "APTIO V"
    assert tables["SPCR"]["revision"] == 2
    assert tables["SPCR"]["length"] == 0x50
    assert tables["SPCR"]["checksum_ok"] is None


def test_linux_repeated_table_recorded_once() -> None:
    line = "[    0.0] ACPI: GTDT 0x00000000FB1F4C98 0000E8 (v03 ARMLTD ARMLGTDT 00010000 ARMH 0)"
    facts = parse_lines(line, line)
    assert len(facts.all("acpi.table")) == 1


@pytest.mark.parametrize(
    ("line", "key"),
    [
        (
            "[    7.919549] ACPI GTDT: [Firmware Bug]: failed to get the Watchdog base address.",
            "linux.firmware_bug",
        ),
        ("[    0.100000] ACPI: [Firmware Warn]: odd value", "linux.firmware_warn"),
        (
            "[    1.000000] ACPI Error: AE_NOT_FOUND, While resolving a named reference",
            "linux.acpi_error",
        ),
        (
            "[    1.000000] ACPI BIOS Error (bug): Could not resolve symbol [\\_SB.PCI0]",
            "linux.acpi_error",
        ),
        ("[    1.000000] ACPI Warning: SystemIO range conflicts", "linux.acpi_warning"),
        (
            "[    8.203562] Kernel panic - not syncing: Oops: Fatal exception in interrupt",
            "linux.panic",
        ),
        ("[    7.969616] Internal error: Oops: 96000004 [#1] SMP", "linux.oops"),
        (
            "[    3.000000] WARNING: CPU: 1 PID: 1 at drivers/base/core.c:100 f+0x0/0x10",
            "linux.warning",
        ),
    ],
)
def test_linux_problem_line(line: str, key: str) -> None:
    facts = parse_lines(line)
    assert len(facts.all(key)) == 1


@pytest.mark.parametrize(
    "line",
    [
        "[    9.274024] ---[ end Kernel panic - not syncing: Oops: Fatal exception ]---",
        "[    0.000000] arch_timer: WARNING: Please fix your firmware",
        "WDT:   Not starting watchdog@30090a0",
        "[    0.000000] printk: bootconsole [pl11] enabled",
    ],
)
def test_linux_lookalike_ignored(line: str) -> None:
    facts = parse_lines(line)
    keys = {"linux.panic", "linux.warning", "watchdog.driver", "console.device"}
    assert not keys & set(facts.keys())


def test_linux_its_counted_once_per_frame() -> None:
    facts = parse_lines(
        "[    0.0] ITS [mem 0x2f020000-0x2f03ffff]",
        "[    0.0] ITS [mem 0x2f040000-0x2f05ffff]",
        "[    0.0] ITS [mem 0x2f020000-0x2f03ffff]",
    )
    assert [obs.value for obs in facts.all("gic.its")] == [2]
    assert facts.first("gic.its").evidence.line == 1


def test_linux_repeated_problem_counted() -> None:
    line = "[    7.9] ACPI GTDT: [Firmware Bug]: failed to get the Watchdog base address."
    facts = parse_lines(line, "[    0.0] psci: PSCIv1.0 detected in firmware.", line)
    assert len(facts.all("linux.firmware_bug")) == 2


def test_linux_repeated_message_recorded_once() -> None:
    line = "[    0.0] psci: PSCIv1.0 detected in firmware."
    facts = parse_lines(line, "[    9.0] Linux version 6.1.0 (x)", line)
    assert len(facts.all("psci.version")) == 1
    assert facts.first("psci.version").evidence.line == 1
