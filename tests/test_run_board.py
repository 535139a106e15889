"""`armcheck run` on a serial console: a pseudo-terminal that plays a board's output.

The board side is a thread writing what firmware prints; armcheck reads the
other end as it would read /dev/ttyUSB0.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from armcheck.capture import MARKER, read_capture

ARMCHECK = [sys.executable, "-m", "armcheck"]
BANNER = b"UEFI firmware (version 1.0 built at 10:00:00 on Jan  1 2026)\r\n"


def run_on(pty_path: str, run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARMCHECK, "run", pty_path, "--run-dir", str(run_dir), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_board_reset_is_an_error(pty_pair, tmp_path: Path) -> None:
    writer = pty_pair.write_chunks(
        [b"", BANNER, b"BdsDxe: loading Boot0001\r\n", BANNER, b"BdsDxe: loading Boot0001\r\n"],
        interval=0.5,
    )

    result = run_on(pty_pair.path, tmp_path, "--timeout", "30")
    # The writer must be done before the pseudo-terminal closes: its descriptor
    # number may be reused by the next test's pseudo-terminal.
    writer.join()

    assert result.returncode == 3, result.stderr
    assert "reset" in result.stderr
    labels = [e.text for e in read_capture(tmp_path / "capture.cast").events if e.kind == MARKER]
    assert any(label.startswith("error: the board reset") for label in labels)
    ElementTree.parse(tmp_path / "junit.xml")


def test_run_board_silent_console_times_out(pty_pair, tmp_path: Path) -> None:
    result = run_on(pty_pair.path, tmp_path, "--timeout", "3")

    assert result.returncode == 3, result.stderr
    assert "timed out" in result.stderr
    assert "nothing was received" in result.stderr
    assert "power the board on or reset it after starting armcheck" in result.stderr
    statuses = {r["status"] for r in json.loads((tmp_path / "report.json").read_text())["results"]}
    assert "error" in statuses


def test_run_board_kernel_panic_is_an_error(pty_pair, tmp_path: Path) -> None:
    writer = pty_pair.write_chunks(
        [b"", BANNER, b"Kernel panic - not syncing: Attempted to kill init!\r\n"], interval=0.3
    )

    result = run_on(pty_pair.path, tmp_path, "--timeout", "30")
    writer.join()

    assert result.returncode == 3, result.stderr
    assert "panicked" in result.stderr


def test_run_board_replayed_through_pty(tmp_path: Path) -> None:
    """A recorded qemu run served on a pseudo-terminal is a board armcheck can run on."""
    capture = Path(__file__).resolve().parent.parent / "captures" / "qemu-virt-run.cast"
    replay = subprocess.Popen(
        [*ARMCHECK, "replay", str(capture), "--pty", "--speed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert replay.stdout is not None
        pty_path = replay.stdout.readline().strip()
        target = tmp_path / "board.yaml"
        target.write_text(
            "name: replayed-board\n"
            f"console:\n  serial: {pty_path}\n  baud: 115200\n"
            "boot:\n  uefi_shell_command: 'FS0:\\vmlinuz initrd=\\initrd.gz console=ttyAMA0'\n"
            "profile: qemu-virt\n"
        )

        result = run_on(str(target), tmp_path / "run")
    finally:
        replay.kill()
        replay.wait()

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["run"]["reached"] == ["firmware", "uefi-shell", "linux", "linux-shell"]
    sources = {obs["evidence"]["source"] for obs in report["facts"]["facts"]["acpi.spcr"]}
    assert sources == {"uefi-shell", "linux-shell"}


def test_run_board_unset_password_before_power_on(pty_pair, tmp_path: Path) -> None:
    target = tmp_path / "board.yaml"
    target.write_text(
        f"console:\n  serial: {pty_pair.path}\n"
        "credentials:\n  user: root\n  password_env: ARMCHECK_TEST_UNSET_PASSWORD\n"
    )
    result = run_on(str(target), tmp_path / "run", "--timeout", "30")

    assert result.returncode == 2, result.stderr
    assert "ARMCHECK_TEST_UNSET_PASSWORD" in result.stderr
    assert "which is not set" in result.stderr
    # Nothing was powered on or recorded.
    assert not (tmp_path / "run" / "capture.cast").exists()


def test_run_board_cause_before_and_after_verdicts(pty_pair, tmp_path: Path) -> None:
    # One pipe for both streams, as in a CI log.
    result = subprocess.run(
        [*ARMCHECK, "run", pty_pair.path, "--run-dir", str(tmp_path), "--timeout", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    causes = [i for i, line in enumerate(lines) if line.startswith("armcheck: the run ")]
    table = lines.index("profile: sbbr")
    assert result.returncode == 3
    assert len(causes) == 2
    assert causes[0] < table < causes[1]
    assert "nothing was received" in lines[causes[0]]


def shell_without_commands(pty_pair, stop: threading.Event) -> threading.Thread:
    """Play firmware that reaches `Shell>` but finds none of the commands typed."""

    def run() -> None:
        # Opening the serial port drops input already queued: write after armcheck opened it.
        stop.wait(1.0)
        pty_pair.write(BANNER + b"UEFI Interactive Shell v2.2\r\nShell> ")
        typed = b""
        while not stop.is_set():
            ready, _, _ = select.select([pty_pair.master], [], [], 0.1)
            if not ready:
                continue
            try:
                typed += os.read(pty_pair.master, 1024)
            except OSError:
                return
            while b"\r" in typed:
                line, typed = typed.split(b"\r", 1)
                command = line.decode(errors="replace").strip()
                pty_pair.write(
                    f"{command}\r\n'{command}' is not recognized as an internal or external "
                    "command, operable program, or script file.\r\nShell> ".encode()
                )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pty_pair.writers.append(thread)
    return thread


def test_run_board_failed_shell_commands_are_errors(pty_pair, tmp_path: Path) -> None:
    stop = threading.Event()
    shell_without_commands(pty_pair, stop)
    try:
        result = run_on(pty_pair.path, tmp_path, "--timeout", "60")
    finally:
        stop.set()

    # Nothing could be read in the shell, so the run cannot pass: its checks are errors.
    assert result.returncode == 3, result.stderr
    labels = [e.text for e in read_capture(tmp_path / "capture.cast").events if e.kind == MARKER]
    failed = [label for label in labels if label.startswith("collection failed: uefi-shell: ")]
    assert any(label.startswith("collection failed: uefi-shell: ver: 'ver' is") for label in failed)
    assert any(label.startswith("collection failed: uefi-shell: dmem: ") for label in failed)
    results = {r["id"]: r for r in json.loads((tmp_path / "report.json").read_text())["results"]}
    rsdp = results["acpi.rsdp"]
    assert rsdp["status"] == "error"
    assert "a command failed in the uefi-shell stage" in rsdp["message"]


def test_run_board_tfa_then_edk2_is_one_boot(pty_pair, tmp_path: Path) -> None:
    # TF-A's BL1 line and edk2's banner belong to one boot; a second BL1 is a reset.
    bl1 = b"NOTICE:  BL1: v2.8(release):v2.8\r\nNOTICE:  BL31: v2.8(release):v2.8\r\n"
    writer = pty_pair.write_chunks(
        [b"", bl1, BANNER, b"BdsDxe: loading Boot0001\r\n", bl1], interval=0.5
    )
    result = run_on(pty_pair.path, tmp_path, "--timeout", "30")
    writer.join()

    assert result.returncode == 3, result.stderr
    labels = [e.text for e in read_capture(tmp_path / "capture.cast").events if e.kind == MARKER]
    errors = [label for label in labels if label.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].startswith("error: the board reset")
    assert "BL1" in errors[0]


BOARD_WITHOUT_TOOLS = """\
stty sane
printf 'UEFI firmware (version 1.0 built at 10:00:00 on Jan  1 2026)\\r\\n'
printf '[    0.000000] Booting Linux on physical CPU 0x0000000000\\r\\n'
printf '[    1.000000] Run /init as init process\\r\\n'
PATH={tools} PS1='# ' exec /bin/sh -i
"""


@pytest.mark.skipif(
    not Path("/sys/firmware/acpi/tables").is_dir(), reason="this host shows no ACPI tables in sysfs"
)
def test_run_board_missing_base64_is_reported(tmp_path: Path) -> None:
    # A board whose Linux lacks md5sum and base64: the table transfer cannot
    # run, and the run must report it instead of skipping quietly.
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("cat", "ls", "uname", "stty"):
        found = shutil.which(name)
        assert found is not None
        (tools / name).symlink_to(found)
    # Not the host's dmesg: `dmesg -n 1` would change this machine's log level.
    (tools / "dmesg").write_text(
        "#!/bin/sh\n[ $# -gt 0 ] || echo '[    0.000000] Linux version 6.1.0'\n"
    )
    (tools / "dmesg").chmod(0o755)
    script = tmp_path / "board.sh"
    script.write_text(BOARD_WITHOUT_TOOLS.format(tools=tools))
    target = tmp_path / "board.yaml"
    target.write_text(
        f"console:\n  command: [sh, {script}]\nboot:\n  uefi_shell: false\n"
        "timeouts:\n  linux-shell: 20\n  command: 20\n"
    )
    result = run_on(str(target), tmp_path / "run", "--timeout", "60")

    labels = [e.text for e in read_capture(tmp_path / "run" / "capture.cast").markers()]
    failed = [label for label in labels if label.startswith("collection failed: linux-shell: ")]
    assert labels[-1] == "complete", result.stderr
    assert any("cd /sys/firmware/acpi/tables: exit status 127" in label for label in failed)
    assert any("not found" in label for label in failed)
    assert "Linux shell collection" in result.stderr
