"""Record the synthetic boot schedule with `armcheck capture`, for the accuracy test and benchmark.

The writer (`python -m armcheck.timing.schedule`) runs as its own process,
creates the pseudo-terminal, and starts playing once a reader has the
terminal side open. `armcheck capture TERMINAL --until login:` is the reader.
A capture is replayed with `armcheck replay --pty` and recorded the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

READY_PATTERN = "login:"
RECORD_TIMEOUT = 30.0


def record_schedule(output: Path) -> tuple[Path, list[float]]:
    """Play the boot schedule on a pty and record it; return the capture and the write offsets.

    The offsets are the moments, counted from the first write, at which the
    writer really wrote each message of BOOT_SCHEDULE.
    """
    argv = [sys.executable, "-m", "armcheck.timing.schedule"]
    writer, terminal = _start_pty_server(argv, "the schedule writer")
    try:
        run_capture_command(terminal, output)
        out, _ = writer.communicate(timeout=RECORD_TIMEOUT)
    finally:
        _stop(writer)
    written: list[float] = []
    for line in out.splitlines():
        if line.startswith("{"):
            written = list(json.loads(line)["written"])
    return output, written


def record_replay(original: Path, output: Path) -> Path:
    """Replay a capture onto a pty with `armcheck replay --pty` and record it again."""
    argv = [sys.executable, "-m", "armcheck", "replay", "--pty", str(original)]
    replay, terminal = _start_pty_server(argv, "armcheck replay --pty")
    try:
        run_capture_command(terminal, output)
        replay.communicate(timeout=RECORD_TIMEOUT)
    finally:
        _stop(replay)
    return output


def run_capture_command(terminal: str, output: Path) -> None:
    """Run `armcheck capture TERMINAL --until login: -o OUTPUT`; raise if it fails."""
    argv = [sys.executable, "-m", "armcheck", "capture", terminal, "--until", READY_PATTERN]
    result = subprocess.run(
        [*argv, "--timeout", str(RECORD_TIMEOUT), "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        timeout=RECORD_TIMEOUT + 10,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"armcheck capture {terminal} exited with status {result.returncode}: "
            f"{result.stderr.strip()[-2000:]}"
        )


def _start_pty_server(argv: list[str], program: str) -> tuple[subprocess.Popen[str], str]:
    """Start a process that prints the path of a pty it serves; return it and the path."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    assert process.stdout is not None
    terminal = process.stdout.readline().strip()
    if not terminal.startswith("/dev/"):
        _stop(process)
        raise RuntimeError(f"{program} printed {terminal!r} instead of a terminal path")
    return process, terminal


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _env() -> dict[str, str]:
    """Return the environment for child processes, with this armcheck first on the path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
