"""Live timing passes: real processes booted N times, and real qemu."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from armcheck.cli import main
from armcheck.errors import ConsoleTimeout
from armcheck.targets import COMMAND, Target
from armcheck.timing.live import PassPlan, run_passes, stream_pattern
from armcheck.timing.markers import DEFAULT_MARKERS, Marker
from armcheck.timing.schedule import EXPECTED_SPANS

SCHEDULE_BOOT = [sys.executable, "-m", "armcheck.timing.schedule", "--stdout"]


def schedule_target() -> Target:
    return Target(name="schedule", kind=COMMAND, command=list(SCHEDULE_BOOT))


def test_passes_warmup_and_captures(tmp_path: Path) -> None:
    plan = PassPlan(2, 1, 20.0, tmp_path / "run", list(DEFAULT_MARKERS))
    result = run_passes(schedule_target(), plan)
    assert result.error is None
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [
        "pass-01.cast",
        "pass-02.cast",
        "warmup-01.cast",
    ]
    assert len(result.timings) == 2


@pytest.mark.parametrize("name", ["kernel", "userspace", "edk2-boot-countdown"])
def test_passes_command_durations(tmp_path: Path, name: str) -> None:
    # A command's output goes through a pipe, not a UART, so 10 ms is the bound here.
    plan = PassPlan(1, 0, 20.0, tmp_path / "run", list(DEFAULT_MARKERS))
    timing = run_passes(schedule_target(), plan).timings[0]
    span = timing.span(name)
    assert span is not None
    assert span.duration == pytest.approx(EXPECTED_SPANS[name][1], abs=0.010)


def test_passes_timeout_stops_run(tmp_path: Path) -> None:
    never = Marker("never", "ready", "^this line never comes$")
    markers = [m for m in DEFAULT_MARKERS if m.role not in ("ready", "shutdown")] + [never]
    plan = PassPlan(3, 0, 1.0, tmp_path / "run", markers)
    result = run_passes(schedule_target(), plan)
    assert isinstance(result.error, ConsoleTimeout)
    assert [path.name for path in result.captures] == ["pass-01.cast"]


@pytest.mark.parametrize(
    ("pattern", "stream"),
    [(r"\blogin:$", r"(?m)\blogin:[ \t]*$"), (r"cost \$", r"(?m)cost \$")],
)
def test_stream_pattern_trailing_blanks(pattern: str, stream: str) -> None:
    assert stream_pattern(Marker("m", "ready", pattern)) == stream


def test_cli_live_target_file(tmp_path: Path) -> None:
    target_file = tmp_path / "schedule.yaml"
    command = " ".join(SCHEDULE_BOOT)
    target_file.write_text(f"console:\n  command: {command}\n")
    output = tmp_path / "t.json"
    result = CliRunner().invoke(
        main,
        [
            "time",
            str(target_file),
            "--passes",
            "2",
            "--run-dir",
            str(tmp_path / "run"),
            "--json",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Captures in {tmp_path / 'run'}" in result.output
    assert json.loads(output.read_text())["passes"] == 2


@pytest.mark.qemu
def test_qemu_virt_two_passes(tmp_path: Path) -> None:
    from armcheck.console.qemu import find_guest, missing_guest_message

    if find_guest() is None:
        pytest.skip(missing_guest_message())
    # The built-in target skips the shell's startup.nsh countdown, because its
    # variable store sets ShellOpt. Without shell options the countdown runs
    # out, so it must show as a wait.
    target_file = tmp_path / "qemu-countdown.yaml"
    target_file.write_text(
        'console:\n  qemu:\n    guest: true\n    append: ""\n    uefi_shell_options: ""\n'
    )
    output = tmp_path / "t.json"
    result = CliRunner().invoke(
        main,
        [
            "time",
            str(target_file),
            "--passes",
            "2",
            "--timeout",
            "240",
            "--run-dir",
            str(tmp_path / "run"),
            "--json",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    stages = {stage["name"]: stage for stage in json.loads(output.read_text())["stages"]}
    for name in ("reset", "firmware", "loader", "kernel", "userspace", "uefi-shell"):
        assert stages[name]["passes"] == 2, name
    assert stages["edk2-shell-countdown"]["announced"] == 5


def test_cli_interrupt_reports_partial(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    target_file = tmp_path / "schedule.yaml"
    target_file.write_text(f"console:\n  command: {' '.join(SCHEDULE_BOOT)}\n")
    argv = [sys.executable, "-m", "armcheck", "time", str(target_file), "--passes", "5"]
    process = subprocess.Popen(
        [*argv, "--run-dir", str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "run" / "pass-02.cast").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Boot timing of schedule: 1 pass(es)" in out
