"""The `summary` object of the facts document: one value per SUMMARY_KEYS key.

Each summary value is derived from the detailed keys of docs/facts.md. Where
several sources can give a value, the most direct one wins: what the firmware
prints about itself (banner, UEFI shell), then its tables (SMBIOS, ACPI),
then what Linux reports about it. A value that was never seen is None; a
recorded absence ("UEFI not found") is None too.
"""

from __future__ import annotations

import re
from typing import Any

from armcheck.facts import (
    ACPI_TABLE,
    BANNER,
    LINUX_LOG,
    LINUX_SHELL,
    SMBIOS_TABLE,
    SUMMARY_KEYS,
    UEFI_SHELL,
    Facts,
    Observation,
)

_SOURCE_RANK = {
    BANNER: 0,
    UEFI_SHELL: 1,
    SMBIOS_TABLE: 2,
    ACPI_TABLE: 3,
    LINUX_LOG: 4,
    LINUX_SHELL: 5,
}
_SPCR_BAUD = re.compile(r",(\d+)(?:n8|[neo]\d)?$")


def build_summary(facts: Facts) -> dict[str, Any]:
    """Return the summary of `facts` as a flat dict keyed by dotted names."""
    linux_read = _linux_log_read(facts)
    summary: dict[str, Any] = {
        "firmware.vendor": _firmware_vendor(facts),
        "firmware.version": _firmware_version(facts),
        "uefi.revision": _uefi_revision(facts),
        "boot.method": _boot_method(facts),
        "acpi.tables": _acpi_tables(facts),
        "acpi.spcr.interface_type": _field(facts, "acpi.spcr", "interface_type"),
        "acpi.spcr.baud": _spcr_baud(facts),
        "acpi.gtdt.watchdogs": _gtdt_watchdogs(facts),
        "smbios.version": _best(facts, "smbios.version"),
        "console.device": _best(facts, "console.device"),
        "rtc.driver": _best(facts, "rtc.driver"),
        "watchdog.driver": _best(facts, "watchdog.driver"),
        "gic.version": _gic_version(facts),
        "psci.version": _best(facts, "psci.version"),
        "linux.version": _best(facts, "linux.version"),
        "linux.firmware_bugs": _line_count(facts, "linux.firmware_bug") if linux_read else None,
        "linux.acpi_errors": _line_count(facts, "linux.acpi_error") if linux_read else None,
    }
    return {key: summary[key] for key in SUMMARY_KEYS}


def _ranked(facts: Facts, key: str) -> list[Observation]:
    observations = facts.all(key)
    return sorted(observations, key=lambda obs: _SOURCE_RANK.get(obs.evidence.source, 9))


def _best(facts: Facts, key: str) -> Any:
    """Return the value of `key` from its most direct source, or None when not seen."""
    ranked = _ranked(facts, key)
    return ranked[0].value if ranked else None


def _field(facts: Facts, key: str, name: str) -> Any:
    value = _best(facts, key)
    return value.get(name) if isinstance(value, dict) else None


def _line_count(facts: Facts, key: str) -> int:
    """Count the lines of `key`, also those past the per-input limit of kept observations."""
    kept: dict[str | None, int] = {}
    for obs in facts.all(key):
        kept[obs.evidence.file] = kept.get(obs.evidence.file, 0) + 1
    for obs in facts.all(key + "_lines"):
        kept[obs.evidence.file] = obs.value
    return sum(kept.values())


def _linux_log_read(facts: Facts) -> bool:
    return any(
        obs.evidence.source == LINUX_LOG
        for observations in facts.observations.values()
        for obs in observations
    )


def _firmware_vendor(facts: Facts) -> Any:
    if facts.seen("firmware.vendor"):
        return _best(facts, "firmware.vendor")
    efi = facts.value("linux.efi")
    if isinstance(efi, dict):
        return efi.get("vendor")
    return _field(facts, "smbios.bios", "vendor")


def _firmware_version(facts: Facts) -> Any:
    if facts.seen("firmware.version"):
        return _best(facts, "firmware.version")
    for key in ("smbios.bios", "linux.dmi_bios", "linux.hardware_name_bios"):
        version = _field(facts, key, "version")
        if version:
            return version
    return None


def _uefi_revision(facts: Facts) -> Any:
    if facts.seen("uefi.revision"):
        return normal_uefi_revision(_best(facts, "uefi.revision"))
    if facts.seen("linux.efi"):
        efi = facts.value("linux.efi")
        return normal_uefi_revision(efi.get("revision")) if isinstance(efi, dict) else None
    return None


def normal_uefi_revision(text: Any) -> Any:
    """Write a UEFI revision as major.minor with two minor digits: `2.7` and `2.7.0` give `2.70`.

    The UEFI system table encodes revision 2.7 as minor 70 and 2.3.1 as minor 31,
    which Linux and the shell print as `2.70` and `2.31`.
    """
    if not isinstance(text, str):
        return text
    parts = re.findall(r"\d+", text)
    if len(parts) < 2:
        return text
    minor = parts[1]
    if len(minor) == 1:
        minor += parts[2][:1] if len(parts) > 2 else "0"
    return f"{int(parts[0])}.{minor}"


def _boot_method(facts: Facts) -> Any:
    # arm64 Linux prints "ACPI: Interpreter disabled." when it boots from the
    # device tree; it prints the table list only when it uses ACPI. A "Machine
    # model:" line alone is not enough, because the EFI stub passes a DT in
    # both cases.
    if facts.value("linux.acpi_disabled"):
        return "devicetree"
    linux_tables = any(obs.evidence.source == LINUX_LOG for obs in facts.all("acpi.table"))
    if linux_tables or facts.seen("console.spcr") or facts.seen("linux.acpi_core"):
        return "acpi"
    if facts.seen("linux.machine_model"):
        return "devicetree"
    return None


def _acpi_tables(facts: Facts) -> Any:
    signatures = {
        obs.value["signature"]
        for obs in facts.all("acpi.table")
        if isinstance(obs.value, dict) and obs.value.get("signature")
    }
    if any(obs.value is not None for obs in facts.all("acpi.rsdp")):
        signatures.add("RSDP")
    return sorted(signatures) if signatures else None


def _spcr_baud(facts: Facts) -> Any:
    if facts.seen("acpi.spcr"):
        return _field(facts, "acpi.spcr", "baud")
    line = _best(facts, "console.spcr")
    if isinstance(line, str):
        match = _SPCR_BAUD.search(line)
        if match:
            return int(match.group(1))
    return None


def _gtdt_watchdogs(facts: Facts) -> Any:
    gtdt = _best(facts, "acpi.gtdt")
    if isinstance(gtdt, dict) and isinstance(gtdt.get("watchdogs"), list):
        return len(gtdt["watchdogs"])
    return _best(facts, "acpi.gtdt.watchdog_count")


def _gic_version(facts: Facts) -> Any:
    if facts.seen("gic.version"):
        return _best(facts, "gic.version")
    madt = _best(facts, "acpi.madt")
    if isinstance(madt, dict):
        for gicd in madt.get("gicd") or []:
            if isinstance(gicd, dict) and gicd.get("version"):
                return gicd["version"]
    return None
