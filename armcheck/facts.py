"""The facts document: what the firmware and the OS revealed, each with its evidence.

A fact is a dotted key (`acpi.spcr`, `linux.version`) with one or more
observations. An observation is a value and the evidence for it: the source
kind, the input file, the line number and the time where it was seen. When
two sources disagree (the SMBIOS BIOS version and the banner), both
observations are kept. `value()` returns the first one recorded, and parsers
record the most direct source first.

A value of None is a recorded absence ("DMI not present or invalid"), with
the line that shows it. A key with no observation at all was not seen.

docs/facts.md lists the keys, their types and who records them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Source kinds of evidence.
BANNER = "banner"
UEFI_SHELL = "uefi-shell"
ACPI_TABLE = "acpi-table"
SMBIOS_TABLE = "smbios-table"
LINUX_LOG = "linux-log"
LINUX_SHELL = "linux-shell"

# The keys of the `summary` object of `armcheck facts --json`: a stable interface.
SUMMARY_KEYS = (
    "firmware.vendor",
    "firmware.version",
    "uefi.revision",
    "boot.method",
    "acpi.tables",
    "acpi.spcr.interface_type",
    "acpi.spcr.baud",
    "acpi.gtdt.watchdogs",
    "smbios.version",
    "console.device",
    "rtc.driver",
    "watchdog.driver",
    "gic.version",
    "psci.version",
    "linux.version",
    "linux.firmware_bugs",
    "linux.acpi_errors",
)


@dataclass(frozen=True)
class Evidence:
    """The place a fact was seen: source kind, input file, line number, time, and the text."""

    source: str
    file: str | None = None
    line: int | None = None
    time: float | None = None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        # Every key is present, null when unknown, so that scripts can index it.
        return {
            "source": self.source,
            "file": self.file,
            "line": self.line,
            "time": round(self.time, 6) if self.time is not None else None,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        return cls(
            str(data.get("source", "")),
            data.get("file"),
            data.get("line"),
            data.get("time"),
            data.get("text"),
        )

    def where(self) -> str:
        """Return a short location for reports: `file:line @ 1.234 s`."""
        place = self.file or self.source
        if self.line is not None:
            place += f":{self.line}"
        if self.time is not None:
            place += f" @ {self.time:.3f} s"
        return place


@dataclass(frozen=True)
class Observation:
    """One value of a fact with its evidence."""

    value: Any
    evidence: Evidence

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "evidence": self.evidence.to_json()}


@dataclass
class Facts:
    """All facts from one or more inputs."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    observations: dict[str, list[Observation]] = field(default_factory=dict)

    def add(self, key: str, value: Any, evidence: Evidence) -> None:
        """Record one observation of `key`."""
        self.observations.setdefault(key, []).append(Observation(value, evidence))

    def set_once(self, key: str, value: Any, evidence: Evidence) -> None:
        """Record `key` unless an observation with the same value already exists."""
        if all(obs.value != value for obs in self.observations.get(key, [])):
            self.add(key, value, evidence)

    def seen(self, key: str) -> bool:
        return bool(self.observations.get(key))

    def value(self, key: str, default: Any = None) -> Any:
        """Return the first observed value of `key`, or `default` when it was never seen."""
        found = self.observations.get(key)
        return found[0].value if found else default

    def all(self, key: str) -> list[Observation]:
        return list(self.observations.get(key, []))

    def first(self, key: str) -> Observation | None:
        found = self.observations.get(key)
        return found[0] if found else None

    def keys(self) -> Iterator[str]:
        return iter(sorted(self.observations))

    def merge(self, other: Facts) -> None:
        self.inputs.extend(other.inputs)
        for key, observations in other.observations.items():
            self.observations.setdefault(key, []).extend(observations)

    def summary(self) -> dict[str, Any]:
        """Build the summary object: one value per SUMMARY_KEYS key, None when not seen."""
        from armcheck.parsers.summary import build_summary

        return build_summary(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "inputs": self.inputs,
            "facts": {
                key: [obs.to_json() for obs in self.observations[key]] for key in self.keys()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facts:
        facts = cls(inputs=list(data.get("inputs", [])))
        for key, observations in (data.get("facts") or {}).items():
            for obs in observations:
                facts.add(key, obs.get("value"), Evidence.from_json(obs.get("evidence") or {}))
        return facts
