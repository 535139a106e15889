"""Text helpers shared by the reports: totals and safe evidence text."""

from __future__ import annotations

import re

from armcheck.facts import Evidence
from armcheck.results import CheckResult, Status

# Characters XML 1.0 cannot carry: C0 controls except tab/LF/CR, lone
# surrogates (undecodable bytes kept by surrogateescape), U+FFFE and U+FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def xml_safe(text: str) -> str:
    """Return `text` with every character XML 1.0 cannot carry written as `\\xNN`."""
    return _XML_INVALID.sub(_escape_char, text)


def printable(text: str) -> str:
    """Return `text` with control characters written as `\\xNN`, for terminals."""
    return _CONTROL.sub(_escape_char, text)


def evidence_line(evidence: Evidence) -> str:
    """Return `file:line @ time: text` for one piece of evidence."""
    if evidence.text:
        return f"{evidence.where()}: {evidence.text}"
    return evidence.where()


def count_statuses(results: list[CheckResult]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for result in results:
        counts[result.status.value] += 1
    return counts


def totals_line(results: list[CheckResult]) -> str:
    counts = count_statuses(results)
    words = [
        ("passed", "passed"),
        ("failed", "failed"),
        ("warning", "warnings"),
        ("waived", "waived"),
        ("skipped", "skipped"),
        ("error", "errors"),
    ]
    return ", ".join(f"{counts[key]} {word}" for key, word in words)
