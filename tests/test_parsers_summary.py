"""The summary object: source precedence, absences and counts."""

from __future__ import annotations

import pytest

from armcheck.facts import (
    ACPI_TABLE,
    BANNER,
    LINUX_LOG,
    SMBIOS_TABLE,
    SUMMARY_KEYS,
    Evidence,
    Facts,
)
from armcheck.parsers.summary import build_summary, normal_uefi_revision


def evidence(source: str) -> Evidence:
    return Evidence(source, "input.log", 1)


def test_summary_has_exactly_summary_keys() -> None:
    assert tuple(build_summary(Facts())) == SUMMARY_KEYS


def test_summary_empty_is_all_null() -> None:
    assert set(build_summary(Facts()).values()) == {None}


def test_summary_counts_zero_with_linux_log() -> None:
    facts = Facts()
    facts.add("linux.version", "6.1.0", evidence(LINUX_LOG))
    summary = build_summary(facts)
    assert summary["linux.firmware_bugs"] == 0
    assert summary["linux.acpi_errors"] == 0


def test_summary_counts_problem_lines() -> None:
    facts = Facts()
    for _ in range(3):
        facts.add("linux.firmware_bug", "[Firmware Bug]: x", evidence(LINUX_LOG))
    facts.add("linux.acpi_error", "ACPI Error: y", evidence(LINUX_LOG))
    summary = build_summary(facts)
    assert summary["linux.firmware_bugs"] == 3
    assert summary["linux.acpi_errors"] == 1


def test_summary_banner_beats_smbios() -> None:
    facts = Facts()
    facts.add("firmware.version", "1.0-smbios", evidence(SMBIOS_TABLE))
    facts.add("firmware.version", "1.0-banner", evidence(BANNER))
    assert build_summary(facts)["firmware.version"] == "1.0-banner"


def test_summary_version_falls_back_to_dmi() -> None:
    facts = Facts()
    facts.add("linux.dmi_bios", {"version": "F02", "release_date": None}, evidence(LINUX_LOG))
    assert build_summary(facts)["firmware.version"] == "F02"


def test_summary_vendor_from_efi_line() -> None:
    facts = Facts()
    facts.add("linux.efi", {"revision": "2.7", "vendor": "EDK II"}, evidence(LINUX_LOG))
    summary = build_summary(facts)
    assert summary["firmware.vendor"] == "EDK II"
    assert summary["uefi.revision"] == "2.70"


def test_summary_uefi_not_found_is_null() -> None:
    facts = Facts()
    facts.add("linux.efi", None, evidence(LINUX_LOG))
    assert build_summary(facts)["uefi.revision"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [("2.7", "2.70"), ("2.70", "2.70"), ("2.4.0", "2.40"), ("2.3.1", "2.31"), ("2.10", "2.10")],
)
def test_uefi_revision_normal_form(given: str, expected: str) -> None:
    assert normal_uefi_revision(given) == expected


@pytest.mark.parametrize(
    ("keys", "method"),
    [
        ({"linux.machine_model": "board", "linux.acpi_disabled": True}, "devicetree"),
        ({"linux.machine_model": "board", "console.spcr": "pl011,mmio,0x0,115200"}, "acpi"),
        ({"linux.machine_model": "board"}, "devicetree"),
        ({}, None),
    ],
)
def test_summary_boot_method(keys: dict[str, object], method: str | None) -> None:
    facts = Facts()
    for key, value in keys.items():
        facts.add(key, value, evidence(LINUX_LOG))
    assert build_summary(facts)["boot.method"] == method


def test_summary_acpi_tables_sorted_with_rsdp() -> None:
    facts = Facts()
    facts.add("acpi.table", {"signature": "SPCR"}, evidence(LINUX_LOG))
    facts.add("acpi.table", {"signature": "APIC"}, evidence(ACPI_TABLE))
    facts.add("acpi.table", {"signature": "SPCR"}, evidence(ACPI_TABLE))
    facts.add("acpi.rsdp", {"revision": 2}, evidence(LINUX_LOG))
    assert build_summary(facts)["acpi.tables"] == ["APIC", "RSDP", "SPCR"]


def test_summary_spcr_table_beats_console_line() -> None:
    facts = Facts()
    facts.add("console.spcr", "pl011,mmio32,0x1c090000,115200", evidence(LINUX_LOG))
    facts.add("acpi.spcr", {"interface_type": 3, "baud": None}, evidence(ACPI_TABLE))
    summary = build_summary(facts)
    assert summary["acpi.spcr.baud"] is None
    assert summary["acpi.spcr.interface_type"] == 3


def test_summary_spcr_baud_from_console_line() -> None:
    facts = Facts()
    facts.add("console.spcr", "pl011,mmio32,0x1c090000,115200", evidence(LINUX_LOG))
    assert build_summary(facts)["acpi.spcr.baud"] == 115200


def test_summary_watchdogs_from_gtdt_table() -> None:
    facts = Facts()
    facts.add("acpi.gtdt", {"watchdogs": []}, evidence(ACPI_TABLE))
    facts.add("acpi.gtdt.watchdog_count", 1, evidence(LINUX_LOG))
    assert build_summary(facts)["acpi.gtdt.watchdogs"] == 0
