"""The JUnit XML report: one testsuite per area, one testcase per check id.

Console text reaches the XML through messages and evidence, so every string
goes through `xml_safe` first: junit-xml drops some invalid characters but
raises on others (NUL among them), and a report must be valid XML whatever
the console printed.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from junit_xml import TestCase, TestSuite, to_xml_report_string

from armcheck.checks import AREAS
from armcheck.outputs import write_output_file
from armcheck.reports.text import evidence_line, xml_safe
from armcheck.results import CheckResult, Status

log = logging.getLogger(__name__)


def build_junit(results: list[CheckResult], properties: dict[str, Any] | None = None) -> str:
    """Return the JUnit XML document for `results` as text."""
    properties = {
        xml_safe(str(key)): xml_safe("" if value is None else str(value))
        for key, value in (properties or {}).items()
    }
    target = properties.get("target") or "local"
    areas = [area for area in AREAS if any(result.area == area for result in results)]
    areas += sorted({result.area for result in results} - set(AREAS))
    suites = []
    for area in areas:
        cases = [_test_case(result, target) for result in results if result.area == area]
        suites.append(TestSuite(area, cases, properties=dict(properties)))
    return to_xml_report_string(suites, encoding="utf-8")


def write_junit(
    results: list[CheckResult],
    path: str | os.PathLike[str],
    properties: dict[str, Any] | None = None,
) -> None:
    """Write the JUnit XML report to `path`.

    `properties` should name the target, profile, firmware vendor and
    version, and the capture; they go on every testsuite.
    """
    text = build_junit(results, properties)
    write_output_file(path, text, "JUnit")
    log.info("wrote JUnit report %s (%d checks)", path, len(results))


def _details(result: CheckResult) -> str:
    lines = []
    if result.rule:
        lines.append(f"rule: {result.rule}")
    lines.append(f"expected: {result.expected}")
    lines.append(f"seen: {result.seen}")
    if result.reason:
        lines.append(f"reason: {result.reason}")
    lines.extend(f"at {evidence_line(evidence)}" for evidence in result.evidence)
    return xml_safe("\n".join(lines))


def _test_case(result: CheckResult, target: str) -> TestCase:
    case = TestCase(
        name=xml_safe(result.check_id),
        classname=xml_safe(f"armcheck.{target}.{result.area}"),
        elapsed_sec=0.0,
    )
    message = xml_safe(result.message)
    if result.status == Status.FAILED:
        case.add_failure_info(message=message, output=_details(result))
    elif result.status == Status.ERROR:
        case.add_error_info(message=message, output=_details(result))
    elif result.status in (Status.SKIPPED, Status.WAIVED):
        reason = xml_safe(result.reason or result.message)
        prefix = "waived: " if result.status == Status.WAIVED else ""
        case.add_skipped_info(message=f"{prefix}{reason}", output=_details(result))
    elif result.status == Status.WARNING:
        case.stdout = xml_safe(f"warning: {result.message}\n") + _details(result)
    return case
