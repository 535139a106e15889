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


def table_list_evidence(facts: Facts) -> list[Evidence] | None:
    """Return evidence that the inputs show the whole ACPI table set, or None if they do not.

    Linux prints every table it installs at boot (`ACPI: SPCR 0x... (v02 ...)`),
    and a walk of the XSDT lists every entry, so either one shows a table that
    is absent. A few tables dumped on their own do not.
    """
    listed = [obs.evidence for obs in facts.all("acpi.table") if obs.evidence.source == LINUX_LOG]
    if listed:
        return [listed[0], listed[-1]] if len(listed) > 1 else listed
    entries = facts.all("acpi.xsdt.entries")
    if entries:
        return [entries[0].evidence]
    return None


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


def acpi_boot(facts: Facts) -> Observation | None:
    """Return the `boot.method` observation when Linux booted with ACPI, else None."""
    for obs in facts.all("boot.method"):
        if obs.value == "acpi":
            return obs
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
