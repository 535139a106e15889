"""The qemu transport with real qemu-system-aarch64 and the distribution's edk2."""

from __future__ import annotations

from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.base import Console
from armcheck.console.qemu import QemuTransport
from armcheck.errors import ConsoleClosed
from armcheck.shells import UefiShell, select_boot_entry
from armcheck.target_files import builtin_target, load_target_text
from armcheck.targets import open_console

pytestmark = pytest.mark.qemu

EDK2_FIRST_LINE = "UEFI firmware (version"


def test_qemu_virt_shell_ver_reset(tmp_path: Path) -> None:
    target = builtin_target("qemu-virt")
    assert target is not None
    target.qemu["guest"] = False
    capture = CaptureWriter(tmp_path / "shell.cast", target=target.name)
    console: Console = open_console(target, capture)
    transport = console.transport
    assert isinstance(transport, QemuTransport)
    try:
        shell = UefiShell(console)
        shell.reach(60)
        version = shell.run("ver", 30)
        memory_map = shell.run("memmap", 30)
        transport.reset()
        console.expect(r"UEFI firmware \(version", 60, what="the banner after a reset")
        folder = transport._folder
    finally:
        console.close()
        capture.close()

    assert version.splitlines()[0] == "UEFI Interactive Shell v2.2"
    assert "Shell>" not in version
    assert memory_map.splitlines()[0].split()[:3] == ["Type", "Start", "End"]
    assert transport.exit_status is not None
    assert folder is not None and not folder.exists()

    recorded = read_capture(tmp_path / "shell.cast")
    outputs = recorded.output_events()
    # The first read may hold only the first byte of the line.
    assert recorded.output_bytes().startswith(EDK2_FIRST_LINE.encode())
    markers = {event.text: event.time for event in recorded.markers()}
    assert markers["power-on"] < 0.5
    assert markers["power-on"] < outputs[0].time
    assert markers["uefi-shell"] > outputs[0].time


def test_qemu_exit_status_and_stderr(tmp_path: Path) -> None:
    text = "console:\n  qemu:\n    extra_args: [-no-such-option]\n"
    transport = QemuTransport(load_target_text(text, "bad.yaml", "bad"))
    transport.open()
    try:
        with pytest.raises(ConsoleClosed) as caught:
            while True:
                transport.read(4096, 30)
    finally:
        transport.close()
    message = str(caught.value)
    assert "qemu exited with status 1" in message
    assert "-no-such-option" in message


def test_qemu_console_closed_in_expect(tmp_path: Path) -> None:
    text = "console:\n  qemu:\n    extra_args: [-no-such-option]\n"
    console = open_console(load_target_text(text, "bad.yaml", "bad"), None)
    try:
        with pytest.raises(ConsoleClosed):
            console.expect("Shell> ", 30)
    finally:
        console.close()


def test_boot_entry_by_label(tmp_path: Path) -> None:
    target = builtin_target("qemu-virt")
    assert target is not None
    target.qemu["guest"] = False
    capture = CaptureWriter(tmp_path / "menu.cast", target=target.name)
    console = open_console(target, capture)
    try:
        console.expect(r"UEFI firmware \(version", 30)
        # edk2's front page lists Boot Manager third; its page lists the boot options.
        select_boot_entry(console, ["Boot Manager", "EFI Internal Shell"], "ESC", 60)
        shell = UefiShell(console)
        shell.reach(60)
        version = shell.run("ver", 30)
    finally:
        console.close()
        capture.close()
    assert version.startswith("UEFI Interactive Shell")
    markers = [event.text for event in read_capture(tmp_path / "menu.cast").markers()]
    assert "menu: Boot Manager" in markers
    assert "boot-entry" in markers


ORPHAN_SCRIPT = """
import time
from armcheck.target_files import builtin_target
from armcheck.targets import open_console
target = builtin_target("qemu-virt")
target.qemu["guest"] = False
console = open_console(target, None)
print(console.transport.process.pid, console.transport._folder, flush=True)
time.sleep(120)
"""


def test_qemu_ends_when_armcheck_killed(tmp_path: Path) -> None:
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    runner = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    assert runner.stdout is not None
    pid_text, folder = runner.stdout.readline().split()
    qemu_pid = int(pid_text)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    # The killed process cannot remove its temporary folder.
    shutil.rmtree(folder, ignore_errors=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(qemu_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(qemu_pid, signal.SIGKILL)
        raise AssertionError(f"qemu (pid {qemu_pid}) still ran 20 s after armcheck was killed")
