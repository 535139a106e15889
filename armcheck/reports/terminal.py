"""The terminal report: checks grouped by area, evidence under failures, a totals line."""

from __future__ import annotations

from typing import TextIO

from armcheck.checks import AREAS
from armcheck.reports.text import evidence_line, printable, totals_line
from armcheck.results import CheckResult, Status

LABELS = {
    Status.PASSED: "PASS",
    Status.FAILED: "FAIL",
    Status.WARNING: "WARN",
    Status.WAIVED: "WAIVED",
    Status.SKIPPED: "SKIP",
    Status.ERROR: "ERROR",
}
COLOURS = {
    Status.PASSED: "\x1b[32m",
    Status.FAILED: "\x1b[1;31m",
    Status.WARNING: "\x1b[33m",
    Status.WAIVED: "\x1b[36m",
    Status.SKIPPED: "\x1b[2m",
    Status.ERROR: "\x1b[1;35m",
}
RESET = "\x1b[0m"
MAX_EVIDENCE_LINES = 5
DETAILED = (Status.FAILED, Status.WARNING, Status.ERROR, Status.WAIVED)


def print_terminal(results: list[CheckResult], stream: TextIO, color: bool | None = None) -> None:
    """Write the report to `stream`; `color` None means colour only when it is a terminal."""
    if color is None:
        color = bool(getattr(stream, "isatty", lambda: False)())
    width = max((len(result.check_id) for result in results), default=0)

    for area in _areas(results):
        stream.write(f"{area}\n")
        for result in (item for item in results if item.area == area):
            stream.write(_check_line(result, width, color) + "\n")
            if result.status in DETAILED:
                for line in _details(result):
                    stream.write(f"{'':10}{printable(line)}\n")
    stream.write(totals_line(results) + "\n")


def _areas(results: list[CheckResult]) -> list[str]:
    present = {result.area for result in results}
    return [area for area in AREAS if area in present] + sorted(present - set(AREAS))


def _check_line(result: CheckResult, width: int, color: bool) -> str:
    label = f"{LABELS[result.status]:<7}"
    if color:
        label = f"{COLOURS[result.status]}{label}{RESET}"
    return f"  {label} {result.check_id:<{width}}  {printable(result.message)}"


def _details(result: CheckResult) -> list[str]:
    lines: list[str] = []
    if result.status == Status.WAIVED or result.reason and result.status == Status.FAILED:
        lines.append(f"reason: {result.reason}")
    if result.expected or result.seen:
        lines.append(f"expected: {result.expected}; seen: {result.seen}")
    for evidence in result.evidence[:MAX_EVIDENCE_LINES]:
        lines.append(f"at {evidence_line(evidence)}")
    hidden = len(result.evidence) - MAX_EVIDENCE_LINES
    if hidden > 0:
        lines.append(f"... and {hidden} more")
    return lines
