"""Command consoles: a local script on a pseudo-terminal plays the part of ipmitool or telnet."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.base import Console
from armcheck.console.command import CommandTransport
from armcheck.errors import ConsoleClosed, TargetError

BOARD_SCRIPT = r"""
import sys
out = sys.stdout.buffer
out.write(b"[SOL Session operational.  Use ~? for help]\n")
out.write(b"raw \xff byte and bare newline\nlogin: ")
out.flush()
# Raw mode: Enter arrives as "\r", as a board's UART receives it.
line = b""
while not line.endswith(b"\r"):
    line += sys.stdin.buffer.read(1)
out.write(b"got " + line.strip() + b"\n")
out.flush()
sys.exit(int(sys.argv[1]))
"""


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "board.py"
    path.write_text(text)
    return str(path)


def test_command_console_round_trip(tmp_path: Path) -> None:
    capture = CaptureWriter(tmp_path / "sol.cast")
    transport = CommandTransport([sys.executable, script(tmp_path, BOARD_SCRIPT), "7"])
    console = Console(transport, capture)
    console.open()
    console.expect("login: ", timeout=10)
    console.sendline("root")
    match = console.expect(r"got (\w+)", timeout=10)
    with pytest.raises(ConsoleClosed) as error:
        console.expect("never", timeout=10)
    console.close()
    capture.close()
    assert match.groups == ("root",)
    assert "exited with status 7" in str(error.value)
    # Raw mode: no "\n" to "\r\n" translation and no echo of the input.
    assert read_capture(tmp_path / "sol.cast").output_bytes() == (
        b"[SOL Session operational.  Use ~? for help]\n"
        b"raw \xff byte and bare newline\nlogin: got root\n"
    )


def test_command_not_found() -> None:
    transport = CommandTransport(["armcheck-no-such-program", "sol", "activate"])
    with pytest.raises(TargetError, match="'armcheck-no-such-program' was not found"):
        transport.open()


def test_command_empty_argv() -> None:
    with pytest.raises(TargetError, match="not a list of strings"):
        CommandTransport([])


def test_command_killed_by_signal(tmp_path: Path) -> None:
    text = "import os, signal, sys\nprint('up', flush=True)\nos.kill(os.getpid(), 9)\n"
    console = Console(CommandTransport([sys.executable, script(tmp_path, text)]))
    console.open()
    with pytest.raises(ConsoleClosed, match="killed by signal 9"):
        console.expect("never", timeout=10)
    console.close()


def test_command_close_ends_process_group(tmp_path: Path) -> None:
    text = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    console = Console(CommandTransport([sys.executable, script(tmp_path, text)]))
    console.open()
    child = int(console.expect(r"child (\d+)", timeout=10).groups[0])
    console.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _running(child):
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_command_read_timeout_empty(tmp_path: Path) -> None:
    text = "import time\ntime.sleep(30)\n"
    transport = CommandTransport([sys.executable, script(tmp_path, text)])
    transport.open()
    started = time.monotonic()
    assert transport.read(4096, timeout=0.1) == b""
    assert time.monotonic() - started < 1
    transport.close()
    assert transport.pid is None
