"""JUnit XML for boot timing: one testcase per stage, its time the stage's mean duration.

A stage that regressed against the baseline is a failure. A stage still open
when the capture ended (the boot did not finish) is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from junit_xml import TestCase, TestSuite, to_xml_report_string

from armcheck.outputs import write_output_file
from armcheck.timing.baseline import StageComparison
from armcheck.timing.statistics import StageStats, TimingReport


def timing_junit(report: TimingReport, comparisons: list[StageComparison] | None = None) -> str:
    """Return the JUnit XML document for a timing report."""
    by_name = {comparison.name: comparison for comparison in comparisons or []}
    cases = [_case(stage, by_name.get(stage.name)) for stage in [report.total, *report.stages]]
    properties = {"passes": str(report.passes), "warmup": str(report.warmup)}
    if report.target:
        properties["target"] = report.target
    if report.run_dir:
        properties["run_dir"] = report.run_dir
    for index, source in enumerate(report.sources, start=1):
        properties[f"capture.{index}"] = source
    suite = TestSuite("timing", cases, properties=properties)
    document = to_xml_report_string([suite], prettyprint=True, encoding="utf-8")
    # junit-xml sets the suite's time to the sum of its cases, which counts each
    # second of the boot once per stage and nested span: the boot's total is right.
    return re.sub(
        r'(<testsuite\b[^>]*?\btime=")[^"]*"',
        lambda match: f'{match.group(1)}{report.total.duration:.6f}"',
        document,
        count=1,
    )


def _case(stage: StageStats, comparison: StageComparison | None) -> TestCase:
    parent = f".{stage.parent}" if stage.parent else ""
    output = (
        f"mean {stage.duration:.6f} s, stddev {stage.stddev:.6f} s, min {stage.min:.6f} s, "
        f"max {stage.max:.6f} s, mean start {stage.start:.6f} s, {stage.passes} pass(es)"
    )
    case = TestCase(
        stage.name,
        classname=f"timing{parent}",
        elapsed_sec=stage.duration,
        stdout=output,
    )
    if comparison is not None and comparison.regressed:
        case.add_failure_info(message=f"regression: {comparison.message()}")
    elif stage.open:
        case.add_error_info(
            message=f"{stage.name} was still running when the capture ended in "
            f"{stage.open} of {stage.passes} pass(es)"
        )
    return case


def write_timing_junit(
    report: TimingReport, path: str | Path, comparisons: list[StageComparison] | None = None
) -> None:
    write_output_file(path, timing_junit(report, comparisons), "JUnit")
