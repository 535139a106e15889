"""Facts of the real qemu captures in captures/ (edk2 and U-Boot, GICv2 and GICv3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from armcheck.facts import Facts
from armcheck.inputs import read_facts

CAPTURES = Path(__file__).resolve().parents[1] / "captures"

PINNED: dict[str, dict[str, Any]] = {
    "qemu-virt-edk2-shell.cast": {
        "firmware.vendor": "EDK II",
        "uefi.revision": "2.70",
        "acpi.tables": [
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
        ],
        "acpi.spcr.interface_type": 3,
        "gic.version": 2,
        "smbios.version": "3.0",
        "linux.version": None,
        "linux.firmware_bugs": None,
    },
    "qemu-virt-gicv3-edk2-shell.cast": {
        "firmware.vendor": "EDK II",
        "gic.version": 3,
        "acpi.gtdt.watchdogs": 0,
    },
    "qemu-virt-edk2-linux.cast": {
        "firmware.vendor": "EDK II",
        "uefi.revision": "2.70",
        "boot.method": "acpi",
        "console.device": "ttyAMA0",
        "rtc.driver": "rtc-efi",
        "psci.version": "1.1",
        "linux.version": "6.1.0-57-arm64",
        "linux.firmware_bugs": 0,
        "linux.acpi_errors": 0,
    },
    "qemu-virt-uboot-linux.cast": {
        "firmware.vendor": "U-Boot",
        "uefi.revision": None,
        "boot.method": "devicetree",
        "acpi.tables": None,
        "console.device": "ttyAMA0",
        "rtc.driver": "rtc-pl031",
        "psci.version": "1.1",
        "linux.version": "6.1.0-57-arm64",
    },
}

_facts: dict[str, Facts] = {}


def capture_facts(name: str) -> Facts:
    if name not in _facts:
        _facts[name] = read_facts([CAPTURES / name])
    return _facts[name]


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [(name, key, value) for name, values in PINNED.items() for key, value in values.items()],
)
def test_capture_summary(name: str, key: str, value: Any) -> None:
    if not (CAPTURES / name).exists():
        pytest.skip(f"{name} has not been recorded")
    assert capture_facts(name).summary()[key] == value


def test_capture_shell_evidence_has_arrival_time() -> None:
    name = "qemu-virt-edk2-shell.cast"
    if not (CAPTURES / name).exists():
        pytest.skip(f"{name} has not been recorded")
    evidence = capture_facts(name).first("uefi.shell.version").evidence
    assert evidence.source == "uefi-shell"
    assert evidence.time is not None and evidence.time > 0


def test_capture_smbiosview_structures() -> None:
    name = "qemu-virt-edk2-shell.cast"
    if not (CAPTURES / name).exists():
        pytest.skip(f"{name} has not been recorded")
    facts = capture_facts(name)
    assert facts.value("smbios.chassis") == {"manufacturer": "QEMU", "type": "Other"}
    assert facts.value("smbios.processor") == [
        {"socket": "CPU 0", "manufacturer": "QEMU", "version": "virt-7.2", "cores": 2, "threads": 2}
    ]
    assert facts.value("smbios.system")["serial"] is None
    assert facts.value("smbios.types") == [0, 1, 3, 4, 16, 17, 32, 127]


def test_capture_linux_efi_line() -> None:
    name = "qemu-virt-edk2-linux.cast"
    if not (CAPTURES / name).exists():
        pytest.skip(f"{name} has not been recorded")
    facts = capture_facts(name)
    assert facts.value("linux.efi") == {"revision": "2.70", "vendor": "EDK II"}
    assert facts.value("console.uart")["type"] == "SBSA"
