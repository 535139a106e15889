"""Power control through a target's shell commands, run against local scripts."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.power import power_cycle, power_off, run_power_command
from armcheck.errors import ConsoleError
from armcheck.target_files import load_target_text
from armcheck.targets import Target, open_console


def _board(tmp_path: Path, port: str, power: dict[str, str]) -> Target:
    lines = ["console:", f"  serial: {port}", "power:"]
    lines += [f"  {action}: {command}" for action, command in power.items()]
    return load_target_text("\n".join(lines) + "\n", str(tmp_path / "board.yaml"), "board")


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def _boot_when_powered(flag: Path, master: int) -> threading.Thread:
    """Play a board that prints its banner once the power-on script has run."""

    def run() -> None:
        deadline = time.monotonic() + 10
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.write(master, b"BOARD BANNER\r\n")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_power_on_after_console_open(tmp_path: Path, pty_pair) -> None:
    flag = tmp_path / "powered"
    script = _script(tmp_path, "on.sh", f"touch {flag}")
    target = _board(tmp_path, pty_pair.path, {"on": script})
    capture = CaptureWriter(tmp_path / "power.cast", target="board")
    thread = _boot_when_powered(flag, pty_pair.master)
    console = open_console(target, capture)
    try:
        console.expect("BOARD BANNER", 10)
    finally:
        console.close()
        capture.close()
    thread.join(5)
    events = read_capture(tmp_path / "power.cast").events
    kinds = [(event.kind, event.text) for event in events]
    assert ("m", "power-on") in kinds
    assert kinds.index(("m", "power-on")) < [kind for kind, _ in kinds].index("o")


def test_power_cycle_used_without_on(tmp_path: Path, pty_pair) -> None:
    flag = tmp_path / "cycled"
    script = _script(tmp_path, "cycle.sh", f"touch {flag}")
    target = _board(tmp_path, pty_pair.path, {"cycle": script})
    thread = _boot_when_powered(flag, pty_pair.master)
    console = open_console(target, None)
    try:
        console.expect("BOARD BANNER", 10)
    finally:
        console.close()
    thread.join(5)
    assert flag.exists()


def test_power_failure_has_status_and_output(tmp_path: Path) -> None:
    script = _script(tmp_path, "on.sh", "echo relay 7 is stuck; exit 3")
    target = _board(tmp_path, "/dev/null", {"on": script})
    with pytest.raises(ConsoleError) as caught:
        run_power_command(target, "on")
    message = str(caught.value)
    assert "exit status 3" in message
    assert "relay 7 is stuck" in message
    assert "board" in message


def test_power_command_timeout(tmp_path: Path) -> None:
    target = _board(tmp_path, "/dev/null", {"off": "sleep 5"})
    with pytest.raises(ConsoleError, match="timed out after"):
        run_power_command(target, "off", timeout=0.3)


def test_power_cycle_falls_back_off_on(tmp_path: Path) -> None:
    log = tmp_path / "actions.log"
    target = _board(
        tmp_path,
        "/dev/null",
        {"on": f"echo on >> {log}", "off": f"echo off >> {log}"},
    )
    assert power_cycle(target) is True
    assert log.read_text(encoding="utf-8").split() == ["off", "on"]


def test_power_off_without_command(tmp_path: Path) -> None:
    target = _board(tmp_path, "/dev/null", {"on": "/bin/true"})
    assert power_off(target) is False


def test_no_power_no_marker(tmp_path: Path, pty_pair) -> None:
    target = load_target_text(f"console:\n  serial: {pty_pair.path}\n", "watch.yaml", "watch")
    capture = CaptureWriter(tmp_path / "watch.cast", target="watch")
    console = open_console(target, capture)
    console.close()
    capture.close()
    assert read_capture(tmp_path / "watch.cast").markers() == []
