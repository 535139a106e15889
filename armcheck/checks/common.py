"""Fact lookups shared by the check modules: ACPI table lists, Linux boot progress, versions."""

from __future__ import annotations

import re
from typing import Any

from armcheck.facts import LINUX_LOG, LINUX_SHELL, Evidence, Facts, Observation


def table_observations(facts: Facts) -> dict[str, list[Observation]]:
    """Return the `acpi.table` observations by upper-case signature."""
    found: dict[str, list[Observation]] = {}
    for obs in facts.all("acpi.table"):
        if isinstance(obs.value, dict) and obs.value.get("signature"):
            found.setdefault(str(obs.value["signature"]).upper(), []).append(obs)
    return found


def tables_present(facts: Facts) -> dict[str, list[Evidence]]:
    """Return the signatures of the tables seen, RSDP included, with their evidence."""
    present = {
        signature: [obs.evidence for obs in observations]
        for signature, observations in table_observations(facts).items()
    }
    rsdp = facts.all("acpi.rsdp")
    if rsdp:
        present.setdefault("RSDP", []).extend(obs.evidence for obs in rsdp)
    decoded = {
        "acpi.spcr": "SPCR",
        "acpi.gtdt": "GTDT",
        "acpi.dbg2": "DBG2",
        "acpi.mcfg": "MCFG",
        "acpi.iort": "IORT",
        "acpi.pptt": "PPTT",
        "acpi.fadt": "FACP",
        "acpi.madt": "APIC",
    }
    for key, signature in decoded.items():
        observations = [obs for obs in facts.all(key) if obs.value is not None]
        if observations and signature not in present:
            present[signature] = [obs.evidence for obs in observations]
    return present


# What a check needs to show that a table is absent (see table_list_evidence).
TABLE_LIST = "the ACPI table list (an ACPI Linux boot log or an XSDT dump)"


def table_list_evidence(facts: Facts) -> list[Evidence] | None:
    """Return evidence that the inputs show the whole ACPI table set, or None if they do not.

    Linux prints every table it installs at boot (`ACPI: SPCR 0x... (v02 ...)`),
    a walk of the XSDT lists every entry, and a Windows firmware-table list
    (input kind `table-list`) names every table, so each of them shows a table
    that is absent. A few tables dumped on their own do not.
    """
    list_files = {
        entry.get("file")
        for entry in facts.inputs
        if isinstance(entry, dict) and entry.get("kind") == "table-list"
    }
    listed = [
        obs.evidence
        for obs in facts.all("acpi.table")
        if obs.evidence.source == LINUX_LOG or (list_files and obs.evidence.file in list_files)
    ]
    if listed:
        return [listed[0], listed[-1]] if len(listed) > 1 else listed
    entries = facts.all("acpi.xsdt.entries")
    if entries:
        return [entries[0].evidence]
    return None


def linux_table_list(facts: Facts) -> bool:
    """Return True when Linux printed the ACPI table list (every table it installed)."""
    return any(obs.evidence.source == LINUX_LOG for obs in facts.all("acpi.table"))


def table_revision(facts: Facts, signature: str) -> Observation | None:
    """Return the first observation of a table with a known revision."""
    for obs in table_observations(facts).get(signature, []):
        if obs.value.get("revision") is not None:
            return obs
    return None


def decoded(facts: Facts, key: str) -> Observation | None:
    """Return the first observation of `key` whose value is a decoded table (a dict)."""
    for obs in facts.all(key):
        if isinstance(obs.value, dict):
            return obs
    return None


def linux_log_evidence(facts: Facts) -> list[Evidence]:
    """Return evidence that a Linux boot log was read (its version line), or []."""
    for key in ("linux.version", "linux.cmdline", "boot.method"):
        found = [obs.evidence for obs in facts.all(key)]
        if found:
            return found[:1]
    return []


def linux_booted(facts: Facts) -> list[Evidence]:
    """Return evidence that Linux reached user space (`Run /init`, a login prompt), or [].

    A log that ends during early boot shows nothing about drivers that probe
    later, so an absent driver line only counts once Linux got this far.
    """
    for key in ("linux.init", "linux.login_prompt"):
        found = [obs.evidence for obs in facts.all(key) if obs.value]
        if found:
            return found[:1]
    shell = [
        obs.evidence
        for key in facts.keys()
        for obs in facts.all(key)
        if obs.evidence.source == LINUX_SHELL
    ]
    return shell[:1]


def boot_method(facts: Facts) -> Observation | None:
    """Return how Linux booted (`acpi` or `devicetree`) as an observation with its evidence.

    A `boot.method` fact wins. Otherwise arm64 Linux shows the method itself:
    `ACPI: Interpreter disabled.` on a device-tree boot, and the ACPI table
    list, the SPCR console line or the ACPICA version line on an ACPI boot. A
    `Machine model:` line alone means device tree only when no ACPI line
    exists, because the EFI stub passes a device tree in both cases.
    """
    for obs in facts.all("boot.method"):
        if obs.value in ("acpi", "devicetree"):
            return obs
    disabled = [obs for obs in facts.all("linux.acpi_disabled") if obs.value]
    if disabled:
        return Observation("devicetree", disabled[0].evidence)
    acpi_lines = [obs for obs in facts.all("acpi.table") if obs.evidence.source == LINUX_LOG]
    acpi_lines += facts.all("console.spcr") + facts.all("linux.acpi_core")
    if acpi_lines:
        return Observation("acpi", acpi_lines[0].evidence)
    model = facts.first("linux.machine_model")
    if model is not None:
        return Observation("devicetree", model.evidence)
    return None


def acpi_boot(facts: Facts) -> Observation | None:
    """Return the boot method observation when Linux booted with ACPI, else None."""
    method = boot_method(facts)
    return method if method is not None and method.value == "acpi" else None


def gic_version(facts: Facts) -> tuple[int, list[Evidence]] | None:
    """Return the GIC architecture version and its evidence, or None when the inputs cannot tell.

    Linux's GIC lines and the MADT GIC distributor state the version. Without
    them, a Linux log that reached user space and shows a GIC (GICv2m MSI
    frames) but no `GICv3:` line is a GICv2, because the GICv3 driver
    (drivers/irqchip/irq-gic-v3.c) always prints `GICv3: N SPIs implemented`
    at the same log level as the GICv2m lines.
    """
    obs = facts.first("gic.version")
    if obs is not None and as_int(obs.value):
        return as_int(obs.value) or 0, [obs.evidence]
    madt = decoded(facts, "acpi.madt")
    if madt is not None:
        for gicd in madt.value.get("gicd") or []:
            version = as_int(gicd.get("version"))
            if version:
                return version, [madt.evidence]
    v2m = [obs for obs in facts.all("gic.v2m_frames") if obs.value]
    booted = linux_booted(facts)
    if v2m and booted and not facts.seen("gic.its"):
        return 2, [v2m[0].evidence, booted[0]]
    return None


def number_tuple(text: Any) -> tuple[int, ...] | None:
    """Parse `1.1`, `v0.2` or `3` into a tuple of integers, or None."""
    match = re.search(r"(\d+(?:\.\d+)*)", str(text)) if text is not None else None
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def uefi_revision_tuple(text: Any) -> tuple[int, int] | None:
    """Parse a UEFI revision into (major, minor * 10 + errata).

    The UEFI specification writes revision 2.7 as `2.70` and 2.3.1 as `2.31`
    (the system table packs the minor as two decimal digits), while Linux
    prints `v2.7`, so `2.7`, `2.70` and `2.7.0` all give (2, 70).
    """
    parts = number_tuple(text)
    if not parts:
        return None
    major = parts[0]
    if len(parts) == 1:
        return major, 0
    minor_text = re.search(r"\d+\.(\d+)", str(text))
    minor = minor_text.group(1) if minor_text else "0"
    if len(parts) >= 3:
        return major, int(minor) * 10 + parts[2]
    if len(minor) == 1:
        return major, int(minor) * 10
    return major, int(minor[:2])


def format_version(parts: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in parts)


def as_int(value: Any) -> int | None:
    """Return `value` as an int (accepting `0x..` strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None
