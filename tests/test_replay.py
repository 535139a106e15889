"""Replay: a capture played back as a board, on stdout and on a pseudo-terminal."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.base import Console
from armcheck.console.replay import ReplayTransport
from armcheck.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, ConsoleClosed, TargetError

ARMCHECK = [sys.executable, "-m", "armcheck"]

EVENTS = [
    (0.0, b"\x1b[2J\x1b[1;1HUEFI firmware (version 1.0)\r\n"),
    (0.2, b"raw \xff\x00 bytes\r\n"),
    (0.4, b"Shell> "),
]


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "board.cast"
    with CaptureWriter(path, target="recorded-board") as writer:
        for at, data in EVENTS:
            writer.output(data, at=at)
        writer.input(b"ver\r", at=0.5)
        writer.mark("uefi-shell", at=0.5)
        writer.output(b"UEFI v2.70\r\n", at=0.6)
    return path


ALL_OUTPUT = b"".join(data for _, data in EVENTS) + b"UEFI v2.70\r\n"


def test_replay_transport_plays_output(recording: Path) -> None:
    console = Console(ReplayTransport(recording, speed=100))
    console.open()
    console.expect("Shell> ", timeout=5)
    console.sendline("ver")
    console.expect(r"UEFI v2\.70", timeout=5)
    with pytest.raises(ConsoleClosed, match="reached the end of the capture"):
        console.expect("never", timeout=5)
    console.close()
    assert console.bytes_read == len(ALL_OUTPUT)


def test_replay_transport_timing(recording: Path) -> None:
    transport = ReplayTransport(recording, speed=2)
    transport.open()
    started = time.monotonic()
    arrivals = []
    for _ in EVENTS:
        transport.read(65536, timeout=5)
        arrivals.append(time.monotonic() - started)
    transport.close()
    for (at, _), arrival in zip(EVENTS, arrivals):
        assert abs(arrival - at / 2) < 0.05, f"event at {at} s played at {arrival:.3f} s"


def test_replay_transport_read_timeout(recording: Path) -> None:
    transport = ReplayTransport(recording, speed=1)
    transport.open()
    transport.read(65536, timeout=1)
    assert transport.read(65536, timeout=0.05) == b""
    transport.close()


def test_replay_transport_small_reads(recording: Path) -> None:
    transport = ReplayTransport(recording, speed=1000)
    transport.open()
    data = b""
    with pytest.raises(ConsoleClosed):
        while True:
            data += transport.read(5, timeout=5)
    assert data == ALL_OUTPUT


@pytest.mark.parametrize("speed", [0, -1, "fast", float("nan")])
def test_replay_invalid_speed(recording: Path, speed: object) -> None:
    with pytest.raises(TargetError, match="invalid replay speed"):
        ReplayTransport(recording, speed=speed)  # type: ignore[arg-type]


def test_cli_replay_stdout_byte_exact(recording: Path) -> None:
    result = subprocess.run(
        [*ARMCHECK, "replay", str(recording), "--speed", "1000"], capture_output=True, timeout=30
    )
    assert result.returncode == EXIT_OK
    assert result.stdout == ALL_OUTPUT


def test_cli_replay_bad_speed(recording: Path) -> None:
    result = subprocess.run(
        [*ARMCHECK, "replay", str(recording), "--speed", "0"], capture_output=True, timeout=30
    )
    assert result.returncode == EXIT_USAGE
    assert "invalid replay speed 0.0" in result.stderr.decode()


def test_cli_replay_corrupt_capture(tmp_path: Path, recording: Path) -> None:
    lines = recording.read_text().splitlines()
    lines[2] = '[0.2, "o", broken'
    bad = tmp_path / "bad.cast"
    bad.write_text("\n".join(lines) + "\n")
    result = subprocess.run([*ARMCHECK, "replay", str(bad)], capture_output=True, timeout=30)
    assert result.returncode == EXIT_INCOMPLETE
    assert f"{bad}:3: invalid capture event" in result.stderr.decode()


def test_cli_replay_pty_read_by_capture(recording: Path, tmp_path: Path) -> None:
    """`armcheck capture` of the pseudo-terminal that `replay --pty` serves gets the bytes."""
    replay = subprocess.Popen(
        [*ARMCHECK, "replay", str(recording), "--pty", "--speed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert replay.stdout is not None
        path = replay.stdout.readline().decode().strip()
        cast = tmp_path / "again.cast"
        capture = subprocess.run(
            [*ARMCHECK, "capture", path, "-o", str(cast), "--until", r"UEFI v2\.70"]
            + ["--timeout", "20"],
            capture_output=True,
            timeout=60,
        )
        replay.wait(timeout=30)
    finally:
        replay.kill()
        replay.wait()
    assert path.startswith("/dev/pts/")
    assert capture.returncode == EXIT_OK, capture.stderr.decode()
    assert replay.returncode == EXIT_OK
    assert read_capture(cast).output_bytes() == ALL_OUTPUT
