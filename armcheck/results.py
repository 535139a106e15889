"""Check results: the verdict model that reports and exit statuses are built on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from armcheck.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK
from armcheck.facts import Evidence


class Status(str, Enum):
    """The outcome of one check."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    WAIVED = "waived"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass
class CheckResult:
    """One check's verdict with what was expected, what was seen, and where."""

    check_id: str
    status: Status
    message: str
    expected: str = ""
    seen: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    reason: str = ""
    level: str = "mandatory"
    severity: str = "medium"
    title: str = ""
    rule: str = ""
    # The profile's waiver for this check (reason, until, reference), whatever the status.
    waiver: dict[str, Any] | None = None

    @property
    def area(self) -> str:
        return self.check_id.split(".", 1)[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "area": self.area,
            "status": self.status.value,
            "message": self.message,
            "expected": self.expected,
            "seen": self.seen,
            "evidence": [item.to_json() for item in self.evidence],
            "reason": self.reason,
            "level": self.level,
            "severity": self.severity,
            "title": self.title,
            "rule": self.rule,
            "waiver": self.waiver,
        }


def exit_status(results: list[CheckResult], strict: bool = False) -> int:
    """Exit status for a set of results: 3 on any error, 1 on any failure, else 0.

    With `strict`, warnings count as failures.
    """
    statuses = {result.status for result in results}
    if Status.ERROR in statuses:
        return EXIT_INCOMPLETE
    if Status.FAILED in statuses or (strict and Status.WARNING in statuses):
        return EXIT_FAILED
    return EXIT_OK
