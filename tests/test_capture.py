"""Capture files: byte-exact, masked, readable after a crash, clear about corruption."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from armcheck.capture import (
    SECRET_MASK,
    CaptureWriter,
    decode_text,
    encode_text,
    is_capture,
    iter_events,
    read_capture,
)
from armcheck.console.base import Console
from armcheck.console.serial import SerialTransport
from armcheck.errors import CaptureFormatError, ConsoleTimeout
from armcheck.targets import SerialSettings
from armcheck.transcript import lines_from_bytes


def test_text_round_trip_all_bytes() -> None:
    data = bytes(range(256)) * 4
    assert decode_text(json.loads(json.dumps(encode_text(data)))) == data


def test_capture_random_bytes_through_pty(tmp_path: Path, pty_pair) -> None:
    """1 MB of random bytes written to a real pseudo-terminal comes back byte for byte."""
    data = random.Random(1).randbytes(1 << 20)
    path = tmp_path / "random.cast"
    capture = CaptureWriter(path, target=pty_pair.path)
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), capture)
    console.open()
    writer = pty_pair.write_chunks([data[i : i + 50000] for i in range(0, len(data), 50000)])
    while console.bytes_read < len(data):
        console.read(5.0)
    writer.join()
    console.close()
    capture.close()
    assert read_capture(path).output_bytes() == data


def test_capture_header_fields(tmp_path: Path) -> None:
    path = tmp_path / "header.cast"
    with CaptureWriter(path, target="/dev/ttyUSB0", extra={"baud": 115200}):
        pass
    header = json.loads(path.read_text().splitlines()[0])
    assert header["version"] == 2
    assert header["width"] == 100
    assert header["height"] == 31
    assert header["armcheck"]["target"] == "/dev/ttyUSB0"
    assert header["armcheck"]["baud"] == 115200
    assert read_capture(path).header.target == "/dev/ttyUSB0"


def test_capture_event_kinds(tmp_path: Path) -> None:
    path = tmp_path / "kinds.cast"
    with CaptureWriter(path) as writer:
        writer.output(b"UEFI firmware\r\n", at=0.25)
        writer.mark("uefi-shell", at=0.5)
        writer.input(b"ver\r", at=0.75)
    events = read_capture(path).events
    assert [(event.time, event.kind) for event in events] == [(0.25, "o"), (0.5, "m"), (0.75, "i")]


def test_capture_secret_masked(tmp_path: Path) -> None:
    path = tmp_path / "secret.cast"
    with CaptureWriter(path) as writer:
        writer.input("hunter2", secret=True)
        writer.add_secret("hunter2")
        writer.output(b"echoed hunter2 back\r\n")
        writer.input(b"password is hunter2\r")
    text = path.read_text()
    assert "hunter2" not in text
    assert text.count(SECRET_MASK) == 3


def test_console_sendline_secret_masked(tmp_path: Path, pty_pair) -> None:
    path = tmp_path / "login.cast"
    capture = CaptureWriter(path)
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), capture)
    console.open()
    console.sendline("s3cret-pass", secret=True)
    received = b""
    while not received.endswith(b"\r"):
        received += os.read(pty_pair.master, 100)
    console.close()
    capture.close()
    assert received == b"s3cret-pass\r"
    assert "s3cret-pass" not in path.read_text()


def send_password(path: Path, pty_pair) -> tuple[Console, CaptureWriter, bytes]:
    """Open a console on the pty, answer its password prompt; return what the board got."""
    capture = CaptureWriter(path)
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), capture)
    console.open()
    os.write(pty_pair.master, b"Password: ")
    console.expect("Password: ", 5)
    console.sendline("s3cret-pass", secret=True)
    received = b""
    while not received.endswith(b"\r"):
        received += os.read(pty_pair.master, 100)
    return console, capture, received


def test_echoed_secret_masked_in_errors(tmp_path: Path, pty_pair) -> None:
    # A board that echoes the password, then hangs: the timeout's "last lines
    # seen" and the matches must show the mask, as the capture does.
    console, capture, received = send_password(tmp_path / "echo.cast", pty_pair)
    os.write(pty_pair.master, received + b"\nLogin incorrect\n")
    match = console.expect("Login incorrect", 5)
    with pytest.raises(ConsoleTimeout) as raised:
        console.expect("never shown", 0.3)
    console.close()
    capture.close()
    assert "s3cret-pass" not in match.before
    assert "s3cret-pass" not in str(raised.value)
    assert SECRET_MASK in str(raised.value)
    assert all("s3cret-pass" not in line for line in console.recent_lines())


def test_secret_echoed_one_character_at_a_time(tmp_path: Path, pty_pair) -> None:
    path = tmp_path / "echo.cast"
    console, capture, _ = send_password(path, pty_pair)
    # The echo arrives in pieces, each read on its own.
    for char in b"s3cret-pass":
        os.write(pty_pair.master, bytes([char]))
        console.drain(0.02)
    os.write(pty_pair.master, b"\r\nLogin incorrect\r\n")
    console.expect("Login incorrect", 5)
    console.close()
    capture.close()
    replayed = read_capture(path).output_bytes()
    assert b"s3cret-pass" not in replayed
    assert replayed.endswith(SECRET_MASK.encode() + b"\r\nLogin incorrect\r\n")
    assert "s3cret" not in path.read_text()


def test_capture_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.cast"
    with CaptureWriter(path) as writer:
        writer.output(b"one\r\n", at=0.1)
        writer.output(b"two\r\n", at=0.2)
    content = path.read_bytes()
    path.write_bytes(content[:-7])
    capture = read_capture(path)
    assert capture.output_bytes() == b"one\r\n"
    assert capture.truncated


def test_capture_corrupt_middle_line(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.cast"
    with CaptureWriter(path) as writer:
        writer.output(b"one\r\n", at=0.1)
        writer.output(b"two\r\n", at=0.2)
    lines = path.read_text().splitlines()
    lines[1] = lines[1][:-3]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CaptureFormatError) as error:
        read_capture(path)
    assert f"{path}:2:" in str(error.value)


def test_capture_not_asciicast(tmp_path: Path) -> None:
    path = tmp_path / "plain.log"
    path.write_text("just a log\n")
    with pytest.raises(CaptureFormatError) as error:
        read_capture(path)
    assert f"{path}:1:" in str(error.value)
    assert not is_capture(path)


WRITER_SCRIPT = """
import sys
from armcheck.capture import CaptureWriter
writer = CaptureWriter(sys.argv[1], target="killed")
chunk = bytes(range(256)) * 40
index = 0
while True:
    writer.output(chunk + str(index).encode())
    index += 1
"""


def test_capture_readable_after_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "killed.cast"
    process = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(path)])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 1e6):
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    events = list(iter_events(path))
    chunk = bytes(range(256)) * 40
    assert len(events) > 10
    assert all(event.data == chunk + str(i).encode() for i, event in enumerate(events))


@pytest.mark.qemu
def test_cli_capture_qemu_virt_shell(tmp_path: Path) -> None:
    """`armcheck capture` of the built-in qemu target records from edk2's first line to Shell>."""
    path = tmp_path / "qemu.cast"
    result = subprocess.run(
        [sys.executable, "-m", "armcheck", "capture", "qemu-virt", "-o", str(path)]
        + ["--until", "Shell> ", "--timeout", "180"],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    capture = read_capture(path)
    lines = lines_from_bytes(capture.output_bytes())
    assert lines[0].text.startswith("UEFI firmware (version")
    assert lines[-1].text == "Shell>"


def test_long_console_line_cut_in_errors(tmp_path: Path, pty_pair) -> None:
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), None)
    console.open()
    # From a thread: the pty buffers less than the line until the console reads it.
    writer = pty_pair.write_chunks([b"x" * 20000 + b"\n"])
    console.drain(0.5)
    writer.join(5)
    with pytest.raises(ConsoleTimeout) as raised:
        console.expect("never shown", 0.2)
    console.close()
    message = str(raised.value)
    assert len(message) < 1000
    assert "(20000 characters)" in message
