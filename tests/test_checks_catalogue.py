"""Every check passes on one real input and fails on another.

The facts are built here, value by value, from lines of real logs kept in
tests/fixtures/checks/: qemu virt boots recorded on this project's machine
(record_qemu_virt.py) and trimmed excerpts of public board logs. Each
observation's evidence is the fixture line it was read from, so a test fails
if the line is missing. Where no real input shows a failure, the builder
changes one value of a real observation, and its name says which
(`..._with_...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from armcheck.checks import CATALOGUE, context_from_facts, run_check
from armcheck.facts import ACPI_TABLE, BANNER, LINUX_LOG, SMBIOS_TABLE, UEFI_SHELL, Evidence, Facts
from armcheck.results import Status

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
QEMU_LINUX = "qemu-virt-gicv2-edk2-linux.log"
QEMU_SHELL = "qemu-virt-gicv2-edk2-shell.log"
THUNDERX = "thunderx-r120-t33-excerpt.log"
FVP = "fvp-revc-edk2-excerpt.log"
ORANGEPI = "orangepi-zero2-excerpt.log"
XGENE = "xgene-mustang-excerpt.log"
ACER = "acer-aspire1-spcr-gtdt-dbg2.dsl"
GRAVITON = "graviton-spcr-partial.dsl"
AMPERE = "ampere-emag-dmidecode.txt"
YOGA = "yoga-c630-table-list.txt"
ACPI_ERRORS = "qemu-acpi-error-excerpt.log"


def evidence(name: str, needle: str, source: str = LINUX_LOG) -> Evidence:
    """Return the evidence of the first line of fixture `name` that contains `needle`."""
    path = FIXTURES / name
    text = path.read_bytes().decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return Evidence(source, str(path), number, None, line.strip())
    raise AssertionError(f"{needle!r} is not in {path}")


def add(facts: Facts, key: str, value: Any, name: str, needle: str, source: str = LINUX_LOG):
    facts.add(key, value, evidence(name, needle, source))


def linux_tables(facts: Facts, name: str, tables: dict[str, int]) -> None:
    for signature, revision in tables.items():
        add(
            facts,
            "acpi.table",
            {"signature": signature, "revision": revision},
            name,
            f"ACPI: {signature} 0x",
        )


# Builders: one per real input.


def qemu_linux() -> Facts:
    """qemu 7.2 virt, GICv2, edk2, Debian 6.1 kernel booted with ACPI."""
    facts = Facts()
    add(facts, "linux.version", "6.1.0-57-arm64", QEMU_LINUX, "Linux version 6.1.0-57-arm64")
    add(
        facts,
        "linux.efi",
        {"revision": "2.70", "vendor": "EDK II"},
        QEMU_LINUX,
        "efi: EFI v2.70 by EDK II",
    )
    add(facts, "linux.efi_stub", True, QEMU_LINUX, "EFI stub: Booting Linux Kernel")
    add(facts, "acpi.rsdp", {"revision": 2, "oem_id": "BOCHS"}, QEMU_LINUX, "ACPI: RSDP 0x")
    linux_tables(
        facts,
        QEMU_LINUX,
        {
            "XSDT": 1,
            "FACP": 6,
            "DSDT": 2,
            "APIC": 4,
            "PPTT": 2,
            "GTDT": 2,
            "MCFG": 1,
            "SPCR": 2,
            "DBG2": 0,
            "IORT": 3,
        },
    )
    add(facts, "console.spcr", "pl011,mmio,0x9000000,9600", QEMU_LINUX, "ACPI: SPCR: console:")
    add(facts, "psci.version", "1.1", QEMU_LINUX, "psci: PSCIv1.1 detected")
    add(
        facts,
        "linux.cmdline",
        "console=ttyAMA0,115200 initrd=initrd",
        QEMU_LINUX,
        "Kernel command line:",
    )
    add(facts, "gic.v2m_frames", 1, QEMU_LINUX, "GICv2m: range")
    add(facts, "linux.acpi_core", "20220331", QEMU_LINUX, "ACPI: Core revision")
    add(facts, "uefi.runtime_services", True, QEMU_LINUX, "Remapping and enabling EFI services")
    add(facts, "cpu.online", 1, QEMU_LINUX, "SMP: Total of 1 processors activated")
    add(facts, "smbios.version", "3.0", QEMU_LINUX, "SMBIOS 3.0.0 present")
    add(
        facts,
        "console.uart",
        {"device": "ttyAMA0", "type": "SBSA", "address": 0x9000000},
        QEMU_LINUX,
        "ttyAMA0 at MMIO 0x9000000",
    )
    add(facts, "console.device", "ttyAMA0", QEMU_LINUX, "console [ttyAMA0] enabled")
    add(facts, "pcie.ecam", "0x4010000000-0x401fffffff bus 00-ff", QEMU_LINUX, "ECAM at [mem")
    add(facts, "rtc.driver", "rtc-efi", QEMU_LINUX, "rtc-efi rtc-efi.0: registered as rtc0")
    add(facts, "rtc.device", "rtc0", QEMU_LINUX, "rtc-efi rtc-efi.0: registered as rtc0")
    add(facts, "linux.init", "/init", QEMU_LINUX, "Run /init as init process")
    return facts


def qemu_shell() -> Facts:
    """The same qemu virt machine in the edk2 UEFI shell: `ver`, `time`, `date`, `smbiosview`."""
    facts = Facts()
    add(facts, "uefi.revision", "2.70", QEMU_SHELL, "UEFI v2.70 (EDK II", UEFI_SHELL)
    add(facts, "uefi.time", "20:12:29", QEMU_SHELL, "20:12:29 (LOCAL)", UEFI_SHELL)
    add(facts, "uefi.date", "2026-12-04", QEMU_SHELL, "12/04/2026", UEFI_SHELL)
    add(
        facts,
        "smbios.entry_point",
        "64-bit",
        QEMU_SHELL,
        "SMBIOS 3.0 (64-bit) Entry Point",
        SMBIOS_TABLE,
    )
    add(facts, "smbios.version", "3.0", QEMU_SHELL, "Version:              3.0", SMBIOS_TABLE)
    add(
        facts,
        "smbios.types",
        [0, 1, 3, 4, 16, 17, 32, 127],
        QEMU_SHELL,
        "Type=0, Handle",
        SMBIOS_TABLE,
    )
    add(
        facts,
        "smbios.bios",
        {"vendor": "EFI Development Kit II / OVMF", "version": "0.0.0"},
        QEMU_SHELL,
        "BiosVersion: 0.0.0",
        SMBIOS_TABLE,
    )
    return facts


def qemu_tables() -> Facts:
    """The qemu Linux facts plus the XSDT and MADT decoded from the shell's `dmem` dumps."""
    facts = qemu_linux()
    entries = [
        0x7C43FA98,
        0x7C43FC18,
        0x7C43FD18,
        0x7C43D898,
        0x7C43FE18,
        0x7C43FF98,
        0x7C43E818,
        0x7C43E898,
    ]
    add(facts, "acpi.xsdt.entries", entries, QEMU_SHELL, "7C43FE98: 58 53 44 54", ACPI_TABLE)
    madt = {
        "gicc": [{"uid": 0, "enabled": True}],
        "gicd": [{"version": 2, "address": 0x8000000}],
        "its": 0,
        "msi_frames": 1,
    }
    add(facts, "acpi.madt", madt, QEMU_SHELL, "7C43FC18: 41 50 49 43", ACPI_TABLE)
    return facts


def changed(build: Callable[[], Facts], key: str, value: Any) -> Callable[[], Facts]:
    """Return a builder of `build`'s facts with the first `key` observation's value changed."""

    def build_changed() -> Facts:
        facts = build()
        first = facts.observations[key][0]
        facts.observations[key][0] = type(first)(value, first.evidence)
        return facts

    build_changed.__name__ = f"{build.__name__}_with_{key}"
    return build_changed


def without(build: Callable[[], Facts], *keys: str, table: str = "") -> Callable[[], Facts]:
    """Return a builder of `build`'s facts without `keys` (or without one ACPI table)."""

    def build_without() -> Facts:
        facts = build()
        for key in keys:
            facts.observations.pop(key, None)
        if table:
            facts.observations["acpi.table"] = [
                obs
                for obs in facts.observations["acpi.table"]
                if obs.value.get("signature") != table
            ]
        return facts

    build_without.__name__ = f"{build.__name__}_without_{table or '_'.join(keys)}"
    return build_without


def with_acpi_errors() -> Facts:
    """The qemu Linux facts plus two ACPI errors a qemu guest printed on a PCI unplug."""
    facts = qemu_linux()
    add(
        facts,
        "linux.acpi_error",
        "ACPI BIOS Error (bug): Could not resolve symbol [^S0B.PCNT]",
        ACPI_ERRORS,
        "ACPI BIOS Error",
    )
    add(
        facts,
        "linux.acpi_error",
        "ACPI Error: Aborting method \\_SB.PCI0.PCNT",
        ACPI_ERRORS,
        "ACPI Error: Aborting",
    )
    return facts


def qemu_linux_with(key: str, value: Any) -> Callable[[], Facts]:
    """Return a builder of the qemu Linux facts with the first `key` observation's value changed."""

    return changed(qemu_linux, key, value)


def thunderx() -> Facts:
    """Gigabyte R120-T33 (Cavium ThunderX), AMI firmware, Linux 5.12 with ACPI; ends in a panic."""
    facts = Facts()
    add(facts, "linux.version", "5.12.0-rc8", THUNDERX, "Linux version 5.12.0-rc8")
    add(
        facts,
        "linux.efi",
        {"revision": "2.40", "vendor": "American Megatrends"},
        THUNDERX,
        "efi: EFI v2.40",
    )
    add(facts, "acpi.rsdp", {"revision": 2, "oem_id": "ALASKA"}, THUNDERX, "ACPI: RSDP 0x")
    linux_tables(
        facts,
        THUNDERX,
        {
            "XSDT": 1,
            "FACP": 6,
            "DSDT": 2,
            "FIDT": 1,
            "SPMI": 5,
            "APIC": 4,
            "GTDT": 2,
            "IORT": 0,
            "MCFG": 1,
            "SLIT": 1,
            "SPCR": 2,
            "DBG2": 0,
            "OEM1": 1,
            "BGRT": 1,
        },
    )
    add(
        facts,
        "console.spcr",
        "pl011,mmio32,0x87e024000000,115200",
        THUNDERX,
        "ACPI: SPCR: console:",
    )
    add(facts, "psci.version", "0.2", THUNDERX, "psci: PSCIv0.2 detected")
    add(facts, "gic.version", 3, THUNDERX, "GICv3: 128 SPIs implemented")
    add(facts, "gic.its", 1, THUNDERX, "ITS [mem 0x801000020000")
    add(
        facts,
        "console.uart",
        {"device": "ttyAMA0", "type": "SBSA", "address": 0x87E024000000},
        THUNDERX,
        "ttyAMA0 at MMIO",
    )
    add(facts, "console.device", "ttyAMA0", THUNDERX, "console [ttyAMA0] enabled")
    add(
        facts,
        "linux.firmware_bug",
        "ACPI GTDT: [Firmware Bug]: failed to get the Watchdog base address.",
        THUNDERX,
        "[Firmware Bug]",
    )
    add(
        facts,
        "linux.oops",
        "Internal error: Oops: 96000004 [#1] SMP",
        THUNDERX,
        "Internal error: Oops",
    )
    add(
        facts,
        "linux.panic",
        "Kernel panic - not syncing: Oops: Fatal exception in interrupt",
        THUNDERX,
        "Kernel panic",
    )
    return facts


def fvp() -> Facts:
    """Arm FVP Base RevC with TF-A and edk2, Linux 6.15 with ACPI, an SBSA watchdog."""
    facts = Facts()
    add(facts, "linux.efi", {"revision": "2.7", "vendor": "EDK II"}, FVP, "efi: EFI v2.7 by EDK II")
    linux_tables(facts, FVP, {"XSDT": 1, "FACP": 6, "DSDT": 2, "GTDT": 3, "SPCR": 2})
    add(facts, "console.spcr", "pl011,mmio32,0x1c090000,115200", FVP, "ACPI: SPCR: console:")
    add(facts, "gic.version", 3, FVP, "GICv3: 224 SPIs implemented")
    add(facts, "acpi.gtdt.watchdog_count", 1, FVP, "found 1 SBSA generic Watchdog")
    add(facts, "rtc.driver", "rtc-efi", FVP, "rtc-efi rtc-efi.0: registered as rtc0")
    add(facts, "watchdog.driver", "sbsa-gwdt", FVP, "sbsa-gwdt sbsa-gwdt.0: Initialized")
    add(facts, "linux.init", "/sbin/init", FVP, "Run /sbin/init as init process")
    return facts


def orangepi() -> Facts:
    """OrangePi Zero2 (Allwinner H616), U-Boot and TF-A, Linux 6.1 with a device tree."""
    facts = Facts()
    add(facts, "linux.version", "6.1.31", ORANGEPI, "Linux version 6.1.31")
    add(facts, "linux.machine_model", "OrangePi Zero2", ORANGEPI, "Machine model: OrangePi")
    add(facts, "linux.acpi_disabled", True, ORANGEPI, "ACPI: Interpreter disabled.")
    add(facts, "psci.version", "1.1", ORANGEPI, "psci: PSCIv1.1 detected")
    add(facts, "gic.version", 2, ORANGEPI, "GIC: Using split EOI/Deactivate mode")
    add(facts, "rtc.driver", "sun6i-rtc", ORANGEPI, "sun6i-rtc 7000000.rtc: registered as rtc0")
    add(facts, "rtc.device", "rtc0", ORANGEPI, "sun6i-rtc 7000000.rtc: registered as rtc0")
    add(facts, "console.device", "ttyS0", ORANGEPI, "console [ttyS0] enabled")
    add(
        facts,
        "linux.cmdline",
        "console=ttyS0,115200 console=tty1 root=/dev/mmcblk0p2",
        ORANGEPI,
        "Kernel command line:",
    )
    add(facts, "linux.init", "/sbin/init", ORANGEPI, "Run /sbin/init as init process")
    return facts


def xgene() -> Facts:
    """APM X-Gene Mustang (X-Gene 1, as on the MP30-AR0), UEFI 2.40, device-tree boot."""
    facts = Facts()
    add(facts, "linux.version", "4.19.0-323-arm64", XGENE, "Linux version 4.19.0")
    add(facts, "linux.machine_model", "APM X-Gene Mustang board", XGENE, "Machine model:")
    add(facts, "smbios.version", "3.0", XGENE, "SMBIOS 3.0.0 present")
    add(
        facts,
        "console.uart",
        {"device": "ttyS0", "type": "16550A", "address": 0x1C020000},
        XGENE,
        "ttyS0 at MMIO 0x1c020000",
    )
    add(facts, "console.device", "ttyS0", XGENE, "console [ttyS0] enabled")
    return facts


def acer() -> Facts:
    """Acer Aspire 1 (Snapdragon 7c) SPCR, GTDT and DBG2 from iasl disassemblies."""
    facts = Facts()
    spcr = {
        "revision": 2,
        "interface_type": 0x11,
        "interrupt_type": 0x08,
        "gsiv": 0x182,
        "base_address": {"space_id": 0, "access_size": 0x20, "address": 0xA90000},
        "baud_code": 7,
        "baud": 115200,
        "parity": 0,
        "stop_bits": 1,
    }
    add(facts, "acpi.spcr", spcr, ACER, 'Signature : "SPCR"', ACPI_TABLE)
    add(
        facts,
        "acpi.gtdt",
        {"revision": 2, "blocks": 1, "watchdogs": []},
        ACER,
        'Signature : "GTDT"',
        ACPI_TABLE,
    )
    dbg2 = {
        "devices": [
            {"port_type": 0x8000, "port_subtype": 0x11, "addresses": [0xA88000]},
            {"port_type": 0x8003, "port_subtype": 0x5143, "addresses": [0xA600000]},
        ]
    }
    add(facts, "acpi.dbg2", dbg2, ACER, 'Signature : "DBG2"', ACPI_TABLE)
    return facts


def graviton() -> Facts:
    """AWS Graviton SPCR (truncated iasl disassembly): a 16550 with byte access."""
    facts = Facts()
    spcr = {
        "revision": 2,
        "interface_type": 0x00,
        "base_address": {"space_id": 0, "access_size": 1, "address": None},
    }
    add(facts, "acpi.spcr", spcr, GRAVITON, 'Signature : "SPCR"', ACPI_TABLE)
    return facts


def ampere() -> Facts:
    """Ampere eMAG (Mitac Raptor) dmidecode: SMBIOS 3.1.1, types 0 to 4 kept by the poster.

    The poster cut the listing before its End Of Table record, so the types
    are a partial list.
    """
    facts = Facts()
    add(facts, "smbios.version", "3.1", AMPERE, "SMBIOS 3.1.1 present", SMBIOS_TABLE)
    partial = {
        "types": [0, 1, 2, 3, 4],
        "problems": [
            "no End Of Table (type 127) record: the dmidecode output is filtered "
            "(-t or -H), cut short, or from a table without one"
        ],
    }
    add(facts, "smbios.partial_types", partial, AMPERE, "DMI type 0,", SMBIOS_TABLE)
    add(
        facts,
        "smbios.bios",
        {"vendor": "Ampere(TM)", "version": "1.0"},
        AMPERE,
        "Version: 1.0",
        SMBIOS_TABLE,
    )
    return facts


def ampere_with_banner(version: str) -> Callable[[], Facts]:
    """Return a builder of the Ampere SMBIOS facts plus a banner stating firmware `version`."""

    def build() -> Facts:
        facts = ampere()
        facts.add("firmware.version", version, Evidence(BANNER, "banner", 1, None, version))
        return facts

    return build


def yoga() -> Facts:
    """Lenovo Yoga C630: Windows firmware-table list (every table, no SPCR)."""
    facts = Facts()
    path = str(FIXTURES / YOGA)
    facts.inputs.append({"file": path, "kind": "table-list", "lines": 252})
    for signature in ("APIC", "DBG2", "DSDT", "FACP", "GTDT", "IORT", "MCFG", "PPTT", "XSDT"):
        add(
            facts,
            "acpi.table",
            {"signature": signature},
            YOGA,
            f"Signature         : {signature}",
            ACPI_TABLE,
        )
    return facts


def qemu_shell_with_host_offset(seconds: float) -> Callable[[], Facts]:
    """Return a builder of the shell facts whose input records the host clock at its start."""

    def build() -> Facts:
        facts = qemu_shell()
        from datetime import datetime, timezone

        shown = datetime(2026, 12, 4, 20, 12, 29, tzinfo=timezone.utc).timestamp()
        facts.inputs.append(
            {"file": QEMU_SHELL, "kind": "console-log", "timestamp": shown + seconds}
        )
        return facts

    return build


SBSA_UART = {"allowed": [0x03, 0x0E]}

# (check id, builder, parameters, expected status)
CASES = [
    ("uart.spcr_present", qemu_linux, {}, Status.PASSED),
    ("uart.spcr_present", yoga, {}, Status.FAILED),
    ("uart.spcr_revision", qemu_linux, {}, Status.PASSED),
    ("uart.spcr_revision", acer, {"min_revision": 3}, Status.FAILED),
    ("uart.interface_type", qemu_linux, SBSA_UART, Status.PASSED),
    ("uart.interface_type", graviton, {}, Status.PASSED),
    ("uart.interface_type", graviton, SBSA_UART, Status.FAILED),
    ("uart.interface_type", acer, {}, Status.FAILED),
    ("uart.base_address", qemu_linux, {}, Status.PASSED),
    ("uart.base_address", acer, {}, Status.FAILED),
    ("uart.interrupt", acer, {}, Status.PASSED),
    ("uart.interrupt", graviton, {}, Status.SKIPPED),
    (
        "uart.interrupt",
        changed(acer, "acpi.spcr", {"interrupt_type": 0x01, "gsiv": 4}),
        {},
        Status.FAILED,
    ),
    ("uart.line_settings", acer, {}, Status.PASSED),
    (
        "uart.line_settings",
        qemu_linux_with("console.spcr", "pl011,mmio,0x9000000,38400"),
        {},
        Status.FAILED,
    ),
    ("uart.console", thunderx, {}, Status.PASSED),
    ("uart.console", qemu_linux, {}, Status.WARNING),
    ("uart.console", qemu_linux, {"expected": "ttyS0,115200"}, Status.FAILED),
    ("uart.console", xgene, {"expected": "ttyS0,115200"}, Status.PASSED),
    ("uart.dbg2_serial", qemu_linux, {}, Status.SKIPPED),
    ("uart.dbg2_serial", without(qemu_linux, table="DBG2"), {}, Status.FAILED),
    ("uart.dbg2_serial", acer, {"allowed": [0x03, 0x0E, 0x11]}, Status.PASSED),
    ("uart.dbg2_serial", acer, {}, Status.FAILED),
    ("uart.os_registered", qemu_linux, {}, Status.PASSED),
    ("uart.os_registered", fvp, {}, Status.FAILED),
    ("rtc.time_service", qemu_shell, {}, Status.PASSED),
    ("rtc.time_service", qemu_linux, {}, Status.PASSED),
    ("rtc.time_service", qemu_linux_with("rtc.driver", "rtc-pl031"), {}, Status.FAILED),
    ("rtc.os_driver", orangepi, {}, Status.PASSED),
    ("rtc.os_driver", thunderx, {}, Status.SKIPPED),
    ("rtc.os_driver", without(qemu_linux, "rtc.driver", "rtc.device"), {}, Status.FAILED),
    ("rtc.clock_drift", qemu_shell_with_host_offset(20.0), {}, Status.PASSED),
    ("rtc.clock_drift", qemu_shell_with_host_offset(7200.0), {}, Status.WARNING),
    ("rtc.clock_drift", qemu_shell, {}, Status.SKIPPED),
    ("watchdog.gtdt_present", qemu_linux, {}, Status.PASSED),
    ("watchdog.gtdt_present", without(qemu_linux, table="GTDT"), {}, Status.FAILED),
    ("watchdog.gtdt_present", acer, {}, Status.PASSED),
    ("watchdog.sbsa_generic", fvp, {"required": True}, Status.PASSED),
    ("watchdog.sbsa_generic", qemu_linux, {"required": True}, Status.FAILED),
    ("watchdog.sbsa_generic", qemu_linux, {"required": False}, Status.SKIPPED),
    ("watchdog.sbsa_generic", acer, {"required": True}, Status.FAILED),
    ("watchdog.os_driver", fvp, {"required": True}, Status.PASSED),
    ("watchdog.os_driver", qemu_linux, {"required": True}, Status.FAILED),
    ("acpi.mandatory_tables", qemu_linux, {"sbbr_version": "1.2"}, Status.PASSED),
    ("acpi.mandatory_tables", thunderx, {"sbbr_version": "1.2"}, Status.FAILED),
    ("acpi.mandatory_tables", thunderx, {"sbbr_version": "1.1"}, Status.PASSED),
    ("acpi.mandatory_tables", yoga, {"sbbr_version": "1.0"}, Status.FAILED),
    ("acpi.recommended_tables", qemu_linux, {"tables": ["IORT", "PPTT"]}, Status.PASSED),
    ("acpi.recommended_tables", qemu_linux, {"tables": ["IORT", "HEST"]}, Status.WARNING),
    ("acpi.checksums", qemu_linux, {}, Status.PASSED),
    (
        "acpi.checksums",
        qemu_linux_with("acpi.table", {"signature": "XSDT", "checksum_ok": False}),
        {},
        Status.FAILED,
    ),
    ("acpi.rsdp", qemu_linux, {}, Status.PASSED),
    (
        "acpi.rsdp",
        qemu_linux_with("acpi.rsdp", {"revision": 0, "oem_id": "BOCHS"}),
        {},
        Status.FAILED,
    ),
    ("acpi.xsdt_entries", qemu_linux, {}, Status.SKIPPED),
    ("acpi.xsdt_entries", qemu_tables, {}, Status.PASSED),
    (
        "acpi.xsdt_entries",
        changed(qemu_tables, "acpi.xsdt.entries", [0x7C43FA98, 0]),
        {},
        Status.FAILED,
    ),
    ("acpi.fadt", qemu_linux, {}, Status.PASSED),
    ("acpi.fadt", qemu_linux, {"min_revision": 7}, Status.FAILED),
    ("acpi.iort", thunderx, {}, Status.PASSED),
    ("acpi.iort", qemu_linux, {}, Status.SKIPPED),
    ("acpi.iort", without(thunderx, table="IORT"), {}, Status.FAILED),
    ("acpi.os_errors", qemu_linux, {}, Status.PASSED),
    ("acpi.os_errors", orangepi, {}, Status.SKIPPED),
    ("acpi.os_errors", with_acpi_errors, {}, Status.FAILED),
    ("smbios.entry_point", qemu_shell, {}, Status.PASSED),
    ("smbios.entry_point", qemu_linux_with("smbios.version", "2.8"), {}, Status.FAILED),
    ("smbios.required_types", qemu_shell, {"types": [0, 1, 3, 4, 16, 17, 32]}, Status.PASSED),
    ("smbios.required_types", qemu_shell, {}, Status.FAILED),
    ("smbios.required_types", ampere, {}, Status.ERROR),
    ("smbios.required_types", ampere, {"types": [0]}, Status.ERROR),
    ("smbios.recommended_types", qemu_shell, {"types": [16, 17]}, Status.PASSED),
    ("smbios.recommended_types", qemu_shell, {}, Status.WARNING),
    ("smbios.recommended_types", ampere, {}, Status.ERROR),
    ("smbios.bios_version", ampere_with_banner("1.0"), {}, Status.PASSED),
    ("smbios.bios_version", ampere_with_banner("2.03"), {}, Status.FAILED),
    ("smbios.bios_version", ampere, {}, Status.SKIPPED),
    (
        "smbios.bios_version",
        changed(
            ampere_with_banner("1.0"),
            "smbios.bios",
            {
                "vendor": "Ampere(TM)",
                "problems": ["version: field at offset 0x05 is past the 5 bytes present"],
            },
        ),
        {},
        Status.ERROR,
    ),
    ("uefi.revision", qemu_shell, {}, Status.PASSED),
    ("uefi.revision", fvp, {}, Status.PASSED),
    ("uefi.revision", thunderx, {}, Status.FAILED),
    ("uefi.acpi_boot", qemu_linux, {}, Status.PASSED),
    ("uefi.acpi_boot", orangepi, {}, Status.FAILED),
    ("uefi.acpi_boot", xgene, {}, Status.FAILED),
    ("uefi.runtime_services", qemu_linux, {}, Status.PASSED),
    ("uefi.runtime_services", qemu_linux_with("uefi.runtime_services", False), {}, Status.FAILED),
    ("cpu.psci_compliant", qemu_linux, {}, Status.PASSED),
    ("cpu.psci_compliant", qemu_linux_with("psci.version", None), {}, Status.FAILED),
    ("cpu.psci_version", qemu_linux, {}, Status.PASSED),
    ("cpu.psci_version", thunderx, {}, Status.FAILED),
    ("cpu.gic_version", thunderx, {"min_version": 3}, Status.PASSED),
    ("cpu.gic_version", qemu_linux, {"min_version": 3}, Status.FAILED),
    ("cpu.gic_version", qemu_linux, {"min_version": 2}, Status.PASSED),
    ("cpu.gic_version", orangepi, {"min_version": 3}, Status.FAILED),
    ("cpu.its", thunderx, {}, Status.PASSED),
    ("cpu.its", qemu_linux, {}, Status.SKIPPED),
    ("cpu.its", changed(thunderx, "gic.its", 0), {}, Status.FAILED),
    ("cpu.pes_online", qemu_linux, {}, Status.SKIPPED),
    ("cpu.pes_online", qemu_tables, {}, Status.PASSED),
    ("cpu.pes_online", changed(qemu_tables, "cpu.online", 0), {}, Status.FAILED),
    ("pcie.mcfg", qemu_linux, {}, Status.PASSED),
    ("pcie.mcfg", without(qemu_linux, table="MCFG"), {}, Status.FAILED),
    ("pcie.ecam", qemu_linux, {}, Status.PASSED),
    ("pcie.ecam", without(qemu_linux, "pcie.ecam"), {}, Status.FAILED),
    ("linux.firmware_bugs", qemu_linux, {}, Status.PASSED),
    ("linux.firmware_bugs", thunderx, {}, Status.FAILED),
    ("linux.panic", qemu_linux, {}, Status.PASSED),
    ("linux.panic", thunderx, {}, Status.FAILED),
]


@pytest.mark.parametrize(
    "check_id, build, params, expected",
    CASES,
    ids=[f"{case[0]}-{case[1].__name__}-{case[3].value}" for case in CASES],
)
def test_check_verdict(
    check_id: str, build: Callable[[], Facts], params: dict[str, Any], expected: Status
) -> None:
    check = CATALOGUE[check_id]
    facts = build()
    result = run_check(check, facts, {**check.defaults, **params}, context_from_facts(facts))
    assert result.status == expected, result.message


PASSING_IDS = {case[0] for case in CASES if case[3] == Status.PASSED}
FAILING_IDS = {case[0] for case in CASES if case[3] in (Status.FAILED, Status.WARNING)}


@pytest.mark.parametrize("check_id", sorted(CATALOGUE))
def test_check_has_pass_case(check_id: str) -> None:
    assert check_id in PASSING_IDS


@pytest.mark.parametrize("check_id", sorted(CATALOGUE))
def test_check_has_fail_case(check_id: str) -> None:
    assert check_id in FAILING_IDS


def test_incomplete_smbios_types_name_the_problem() -> None:
    facts = ampere()
    check = CATALOGUE["smbios.required_types"]
    result = run_check(check, facts, check.defaults, context_from_facts(facts))
    assert result.message == (
        "not decided: the SMBIOS structure table is incomplete (no End Of Table (type 127) "
        "record: the dmidecode output is filtered (-t or -H), cut short, or from a table "
        "without one)"
    )
    assert result.seen == "types 0 1 2 3 4 from an incomplete table"
    assert result.evidence[0].line == 6


def test_whole_smbios_types_win_over_partial() -> None:
    facts = ampere()
    for obs in qemu_shell().all("smbios.types"):
        facts.add("smbios.types", obs.value, obs.evidence)
    check = CATALOGUE["smbios.required_types"]
    result = run_check(check, facts, check.defaults, context_from_facts(facts))
    assert result.status == Status.FAILED
    assert result.message == "missing SMBIOS types 7 19"


def test_console_without_spcr_names_profile() -> None:
    facts = xgene()
    check = CATALOGUE["uart.console"]
    result = run_check(check, facts, {"expected": "ttyS0,115200"}, context_from_facts(facts))
    assert result.message == "console ttyS0 is the profile's ttyS0,115200"


def test_console_speed_mismatch_states_both_sides() -> None:
    # The profile expects ttyAMA0,115200, which the console meets, but the SPCR gives 9600.
    facts = qemu_linux()
    check = CATALOGUE["uart.console"]
    params = {"expected": "ttyAMA0,115200"}
    result = run_check(check, facts, params, context_from_facts(facts))
    assert result.status == Status.WARNING
    assert result.expected != result.seen
    assert "SPCR" in result.expected


def test_failure_names_its_evidence() -> None:
    facts = thunderx()
    check = CATALOGUE["linux.firmware_bugs"]
    result = run_check(check, facts, check.defaults, context_from_facts(facts))
    assert result.evidence[0].text and "[Firmware Bug]" in result.evidence[0].text


def test_failure_states_expected_and_seen() -> None:
    facts = qemu_linux()
    check = CATALOGUE["cpu.gic_version"]
    result = run_check(check, facts, {"min_version": 3}, context_from_facts(facts))
    assert result.expected == "GICv3 or later"
    assert result.seen == "GICv2"
