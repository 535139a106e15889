"""`armcheck time` on captures: outputs, the baseline gate and exit statuses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_timing import UBOOT_BOOT, write_capture

from armcheck.cli import main


def run_time(*args: str):
    return CliRunner().invoke(main, ["time", *args])


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_capture(tmp_path / "boot.cast", UBOOT_BOOT)


def slowed_copy(capture: Path, copy: Path, after: float, delay: float) -> Path:
    """Copy a capture, moving every event at or after `after` seconds `delay` seconds later."""
    lines = capture.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        at, kind, text = json.loads(line)
        out.append(json.dumps([round(at + delay, 6) if at >= after else at, kind, text]))
    copy.write_text("\n".join(out) + "\n")
    return copy


@pytest.fixture
def slow_kernel(capture: Path, tmp_path: Path) -> Path:
    # The same boot with init starting 0.5 s later: the kernel stage takes 1.5 s, not 1.0 s.
    return slowed_copy(capture, tmp_path / "slow.cast", 9.0, 0.5)


def test_cli_capture_exit_zero(capture: Path) -> None:
    result = run_time(str(capture))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "text",
    [
        "kernel 1.000 ± 0.000 s (9.1 %)",
        "u-boot-autoboot 3.100 ± 0.000 s",
        "3 s announced",
        "Longest spans:",
        "Kernel clock: 3 printk lines",
    ],
)
def test_cli_terminal_timeline(capture: Path, text: str) -> None:
    assert text in run_time(str(capture)).output


def test_cli_json_stages(capture: Path, tmp_path: Path) -> None:
    output = tmp_path / "t.json"
    run_time(str(capture), str(capture), "--json", str(output))
    data = json.loads(output.read_text())
    assert data["passes"] == 2
    top = [stage["name"] for stage in data["stages"] if stage["parent"] is None]
    assert top == ["reset", "firmware", "loader", "kernel", "userspace"]


def test_cli_junit_one_case_per_stage(capture: Path, tmp_path: Path) -> None:
    output = tmp_path / "t.xml"
    run_time(str(capture), "--junit", str(output))
    cases = ElementTree.parse(output).getroot().iter("testcase")
    times = {case.get("name"): float(case.get("time") or 0) for case in cases}
    assert times["kernel"] == pytest.approx(1.0, abs=1e-6)
    assert "total" in times


def test_cli_baseline_unchanged_passes(capture: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "base.json"
    assert run_time(str(capture), "--save-baseline", str(baseline)).exit_code == 0
    result = run_time(str(capture), "--baseline", str(baseline), "--max-regression", "10")
    assert result.exit_code == 0, result.output
    assert "no regression" in result.output


def test_cli_baseline_slow_kernel_fails(capture: Path, slow_kernel: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "base.json"
    run_time(str(capture), "--save-baseline", str(baseline))
    junit = tmp_path / "gate.xml"
    result = run_time(
        str(slow_kernel),
        "--baseline",
        str(baseline),
        "--max-regression",
        "10",
        "--junit",
        str(junit),
    )
    assert result.exit_code == 1, result.output
    assert "FAILED kernel: mean 1.500 s against baseline 1.000 s" in result.output
    failed = [
        case.get("name")
        for case in ElementTree.parse(junit).getroot().iter("testcase")
        if case.find("failure") is not None
    ]
    assert failed == ["kernel"]


def test_cli_baseline_large_limit_passes(capture: Path, slow_kernel: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "base.json"
    run_time(str(capture), "--save-baseline", str(baseline))
    result = run_time(str(slow_kernel), "--baseline", str(baseline), "--max-regression", "60")
    assert result.exit_code == 0, result.output


def test_cli_unfinished_boot_exit_three(tmp_path: Path) -> None:
    cut = write_capture(tmp_path / "cut.cast", UBOOT_BOOT[:-2])
    result = run_time(str(cut))
    assert result.exit_code == 3
    assert "did not reach userspace ready" in result.output


def test_cli_prompt_option_ends_boot(tmp_path: Path) -> None:
    chunks = [(0.1, b"UEFI firmware (version 1.0)\r\n"), (2.0, b"Shell> ")]
    shell = write_capture(tmp_path / "shell.cast", chunks)
    result = run_time(str(shell), "--prompt", "^Shell>$")
    assert result.exit_code == 0, result.output
    assert "firmware 1.900" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.cast"], "capture not found: missing.cast"),
        (["{capture}", "--passes", "3"], "apply to live targets"),
        (["{capture}", "{text}"], "is not an asciicast v2 capture"),
        (["{text}"], "is not an asciicast v2 capture nor a YAML target file"),
        (["{capture}", "--markers", "{text}"], "expected a list of markers"),
        (["{capture}", "--baseline", "{text}"], "invalid baseline"),
        (["{capture}", "--prompt", "("], "invalid prompt pattern"),
    ],
)
def test_cli_bad_usage_exit_two(
    capture: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just text\n")
    argv = [arg.format(capture=capture, text=text) for arg in args]
    result = CliRunner().invoke(main, ["time", *argv])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_ascii_terminal(capture: Path) -> None:
    from armcheck.reports.timeline import ASCII_GLYPHS, glyphs_for

    assert glyphs_for("ascii") is ASCII_GLYPHS


def test_cli_ascii_timeline_text(capture: Path) -> None:
    from armcheck.reports.timeline import ASCII_GLYPHS, render_report
    from armcheck.timing.markers import DEFAULT_MARKERS
    from armcheck.timing.stages import analyse_capture
    from armcheck.timing.statistics import summarize

    report = summarize([analyse_capture(capture, list(DEFAULT_MARKERS))])
    text = render_report(report, glyphs=ASCII_GLYPHS)
    assert text.isascii()
    assert "^     kernel 1.000 +- 0.000 s" in text


def test_cli_junit_suite_time_is_total(capture: Path, tmp_path: Path) -> None:
    # Not the sum of the cases, which counts each second once per nested span.
    junit, report = tmp_path / "t.xml", tmp_path / "t.json"
    run_time(str(capture), "--junit", str(junit), "--json", str(report))
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    total = json.loads(report.read_text())["total"]["duration"]
    assert float(suite.get("time") or 0) == pytest.approx(total, abs=1e-5)


def test_cli_unfinished_boot_total_is_open(tmp_path: Path) -> None:
    cut = write_capture(tmp_path / "cut.cast", UBOOT_BOOT[:-2])
    junit, report = tmp_path / "t.xml", tmp_path / "t.json"
    run_time(str(cut), "--junit", str(junit), "--json", str(report))
    assert json.loads(report.read_text())["total"]["open"] == 1
    assert "[boot unfinished in 1 pass(es)]" in run_time(str(cut)).output.splitlines()[0]
    cases = {case.get("name"): case for case in ElementTree.parse(junit).getroot().iter("testcase")}
    assert cases["total"].find("error") is not None


def test_cli_json_names_capture_target(capture: Path, tmp_path: Path) -> None:
    output = tmp_path / "t.json"
    run_time(str(capture), "--json", str(output))
    assert json.loads(output.read_text())["target"] == "test-board"
