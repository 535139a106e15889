"""Record the synthetic boot schedule on a pseudo-terminal, for the accuracy test and benchmark.

The writer (armcheck.timing.schedule) runs as its own process and owns the
pseudo-terminal; the recorder attaches to its terminal side like a serial
port, then tells the writer to start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import armcheck.cli
from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.targets import SerialSettings

READY_PATTERN = "login:"
RECORD_TIMEOUT = 20.0
ATTACH_DELAY = 0.5

# Replays a capture onto a new pseudo-terminal: prints the terminal path, waits
# for a line on stdin, then writes each output event at its recorded time.
REPLAY_WRITER = r"""
import os, sys, time, tty
from armcheck.console.replay import ReplayTransport
master, terminal = os.openpty()
tty.setraw(terminal)
print(os.ttyname(terminal), flush=True)
sys.stdin.readline()
replay = ReplayTransport(sys.argv[1])
replay.open()
try:
    while True:
        data = replay.read(65536, None)
        os.write(master, data)
except Exception:
    pass
time.sleep(0.5)
"""


def capture_command_available() -> bool:
    return "capture" in armcheck.cli.main.commands


def start_writer(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start a pty writer process; return it and the path of its terminal side."""
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env()
    )
    assert process.stdout is not None
    terminal = process.stdout.readline().strip()
    if not terminal.startswith("/dev/"):
        process.kill()
        raise RuntimeError(f"the pty writer printed {terminal!r} instead of a terminal path")
    return process, terminal


def record(writer: subprocess.Popen[str], terminal: str, output: Path) -> Path:
    """Record what the writer plays on `terminal` into `output`, until the login prompt."""
    if capture_command_available():
        return _record_with_command(writer, terminal, output)
    return _record_in_process(writer, terminal, output)


def _record_with_command(writer: subprocess.Popen[str], terminal: str, output: Path) -> Path:
    argv = [sys.executable, "-m", "armcheck", "capture", terminal, "--until", READY_PATTERN]
    recorder = subprocess.Popen(
        [*argv, "-o", str(output)], stderr=subprocess.PIPE, text=True, env=_env()
    )
    deadline = time.monotonic() + RECORD_TIMEOUT
    while not output.exists() and time.monotonic() < deadline and recorder.poll() is None:
        time.sleep(0.05)
    time.sleep(ATTACH_DELAY)
    _go(writer)
    _, errors = recorder.communicate(timeout=RECORD_TIMEOUT)
    if recorder.returncode != 0:
        raise RuntimeError(
            f"armcheck capture {terminal} exited with status {recorder.returncode}: "
            f"{errors.strip()[-2000:]}"
        )
    return output


def _record_in_process(writer: subprocess.Popen[str], terminal: str, output: Path) -> Path:
    from armcheck.console.serial import SerialTransport

    with CaptureWriter(output, target=terminal) as capture:
        console = Console(SerialTransport(SerialSettings(port=terminal)), capture)
        console.open()
        try:
            _go(writer)
            console.expect(READY_PATTERN, timeout=RECORD_TIMEOUT)
        finally:
            console.close()
    return output


def _go(writer: subprocess.Popen[str]) -> None:
    assert writer.stdin is not None
    writer.stdin.write("go\n")
    writer.stdin.flush()


def finish_writer(writer: subprocess.Popen[str]) -> list[float]:
    """Wait for a schedule writer to exit; return the offsets it reported, if any."""
    out, _ = writer.communicate(timeout=RECORD_TIMEOUT)
    for line in out.splitlines():
        if line.startswith("{"):
            return list(json.loads(line)["written"])
    return []


def record_schedule(output: Path) -> tuple[Path, list[float]]:
    """Play the synthetic boot schedule on a pty and record it; return the capture and offsets."""
    writer, terminal = start_writer([sys.executable, "-m", "armcheck.timing.schedule"])
    try:
        record(writer, terminal, output)
        written = finish_writer(writer)
    finally:
        if writer.poll() is None:
            writer.kill()
    return output, written


def record_replay(original: Path, output: Path) -> Path:
    """Replay a capture onto a pty (`armcheck replay --pty`) and record it again."""
    if "replay" not in armcheck.cli.main.commands:
        return _record_replay_fallback(original, output)
    argv = [sys.executable, "-m", "armcheck", "replay", "--pty", str(original)]
    replay = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert replay.stdout is not None
        terminal = replay.stdout.readline().strip()
        if not terminal.startswith("/dev/"):
            raise RuntimeError(f"armcheck replay --pty printed {terminal!r}, not a terminal path")
        _run_capture_command(terminal, output)
        replay.communicate(timeout=RECORD_TIMEOUT)
    finally:
        if replay.poll() is None:
            replay.kill()
    return output


def _record_replay_fallback(original: Path, output: Path) -> Path:
    writer, terminal = start_writer([sys.executable, "-c", REPLAY_WRITER, str(original)])
    try:
        record(writer, terminal, output)
        writer.communicate(timeout=RECORD_TIMEOUT)
    finally:
        if writer.poll() is None:
            writer.kill()
    return output


def _run_capture_command(terminal: str, output: Path) -> None:
    argv = [sys.executable, "-m", "armcheck", "capture", terminal, "--until", READY_PATTERN]
    result = subprocess.run(
        [*argv, "-o", str(output)],
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        timeout=RECORD_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"armcheck capture {terminal} exited with status {result.returncode}: "
            f"{result.stderr.strip()[-2000:]}"
        )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
