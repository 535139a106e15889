"""Real console logs from other people's boards: the summary each one must yield.

The fixtures in tests/fixtures/logs are trimmed excerpts of public logs (one
per kind: printk caller ids, AMI firmware with an oops, TF-A with EDK2 and
the UEFI shell, U-Boot with a device tree, UEFI with a device tree). When the
full case collection exists beside the repository (../shared/cases, with
`*.expect.yaml` files), every case in it is run as well.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from armcheck.inputs import read_facts

LOGS = Path(__file__).parent / "fixtures" / "logs"
CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"

PINNED: dict[str, dict[str, Any]] = {
    "thunderx-acpi-oops.log": {
        "firmware.vendor": "American Megatrends",
        "firmware.version": "F02",
        "uefi.revision": "2.40",
        "boot.method": "acpi",
        "acpi.spcr.baud": 115200,
        "console.device": "ttyAMA0",
        "gic.version": 3,
        "psci.version": "0.2",
        "linux.version": "5.12.0-rc8",
        "linux.firmware_bugs": 1,
        "linux.acpi_errors": 0,
    },
    "emag-caller-id.log": {
        "firmware.vendor": "American Megatrends",
        "uefi.revision": "2.70",
        "boot.method": "acpi",
        "acpi.spcr.baud": 115200,
        "psci.version": "1.0",
        "linux.version": "5.13.0-rc3-next-20210526+",
        "linux.firmware_bugs": 0,
    },
    "fvp-tfa-edk2-shell.log": {
        "firmware.vendor": "EDK II",
        "firmware.version": None,
        "uefi.revision": "2.70",
        "boot.method": "acpi",
        "acpi.gtdt.watchdogs": 1,
        "rtc.driver": "rtc-efi",
        "watchdog.driver": "sbsa-gwdt",
        "gic.version": 3,
        "psci.version": "1.1",
        "linux.version": "6.15.0-rc1-g916aeec68dd4",
    },
    "orangepi-uboot-dt.log": {
        "firmware.vendor": "U-Boot",
        "firmware.version": "2023.07.02-g",
        "uefi.revision": None,
        "boot.method": "devicetree",
        "rtc.driver": "sun6i-rtc",
        "gic.version": 2,
        "psci.version": "1.1",
        "console.device": "ttyS0",
        "linux.version": "6.1.31",
    },
    "mustang-uefi-dt.log": {
        "firmware.vendor": "X-Gene Mustang Board EFI Oct 17 2016 13:54:05",
        "firmware.version": "3.06.25",
        "uefi.revision": "2.40",
        "boot.method": "devicetree",
        "smbios.version": "3.0",
        "rtc.driver": "rtc-efi",
        "gic.version": 2,
        "console.device": "ttyS0",
        "psci.version": None,
    },
}


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [(name, key, value) for name, values in PINNED.items() for key, value in values.items()],
)
def test_fixture_summary(name: str, key: str, value: Any) -> None:
    assert read_facts([LOGS / name]).summary()[key] == value


def _case_files() -> list[Path]:
    return sorted(CASES.glob("*.expect.yaml")) if CASES.is_dir() else []


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value).strip().lower()
    if isinstance(value, list):
        return sorted(_normal(item) for item in value)
    return value


def _version(value: Any) -> Any:
    # Case files write UEFI, SMBIOS and PSCI versions either way ("2.7", "2.70").
    if value is None:
        return None
    major, _, minor = str(value).partition(".")
    return (int(major), float("0." + (minor or "0")))


@pytest.mark.skipif(not CASES.is_dir(), reason=f"no case collection at {CASES}")
@pytest.mark.parametrize("expect", _case_files(), ids=lambda path: path.name.split(".")[0])
def test_case_summary(expect: Path) -> None:
    case = yaml.safe_load(expect.read_text())
    summary = read_facts([expect.parent / case["input"]]).summary()
    for key, want in (case.get("summary") or {}).items():
        got = summary[key]
        if key in ("uefi.revision", "smbios.version", "psci.version"):
            assert _version(got) == _version(want), key
        else:
            assert _normal(got) == _normal(want), key
