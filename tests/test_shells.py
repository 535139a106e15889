"""UEFI shell and Linux shell helpers: output cutting, login, and the real Linux guest."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.base import Console
from armcheck.console.qemu import find_guest, missing_guest_message
from armcheck.errors import ConsoleTimeout, TargetError
from armcheck.shells import (
    Credentials,
    LineRecorder,
    LinuxShell,
    Screen,
    UefiShell,
    _between_markers,
    _drop_echo,
    _strip_printk,
)
from armcheck.target_files import builtin_target, load_target_text
from armcheck.targets import open_console
from armcheck.transcript import TranscriptBuilder

# --- output cutting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "command", "expected"),
    [
        (["Shell> ver", "EDK II"], "ver", ["EDK II"]),
        (["FS0:\\> ls", "Directory of: FS0:\\"], "ls", ["Directory of: FS0:\\"]),
        # A long command wraps onto a second row of the terminal.
        (["Shell> dmem 7C430018", "24", "out"], "dmem 7C430018 24", ["out"]),
        (["Shell> memmap", ""], "memmap", [""]),
    ],
)
def test_drop_echo(lines: list[str], command: str, expected: list[str]) -> None:
    assert _drop_echo(lines, command) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["P# ARMCHECK_BEGIN_1", "a", "b", "ARMCHECK_END_1_0"], ["a", "b"]),
        (["P# ARMCHECK_BEGIN_1", "abcARMCHECK_END_1_0"], ["abc"]),
        (["P# ARMCHECK_BEGIN_1", "ARMCHECK_END_1_1"], []),
        (["P# ARMCHECK_BEGIN_1", "", "x", "ARMCHECK_END_1_0"], ["", "x"]),
    ],
)
def test_between_markers(lines: list[str], expected: list[str]) -> None:
    assert _between_markers(lines, "ARMCHECK_BEGIN_1", "ARMCHECK_END_1_") == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a", "[   12.345678] usb 1-1: new device", "b"], ["a", "b"]),
        (["hal[    3.000001] rtc: set", "f of a line"], ["half of a line"]),
        (["[1.5] is not a printk timestamp"], ["[1.5] is not a printk timestamp"]),
    ],
)
def test_strip_printk(lines: list[str], expected: list[str]) -> None:
    assert _strip_printk(lines) == expected


def test_recorder_bounded_keeps_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("armcheck.shells.MAX_KEPT_LINES", 10)
    recorder = LineRecorder(TranscriptBuilder())
    recorder.feed(b"".join(b"old %d\n" % number for number in range(25)), 0.0)
    start = recorder.position()
    recorder.feed(b"new 1\nnew 2\n", 1.0)
    assert start == 25
    assert len(recorder.lines) <= 10
    assert [line.text for line in recorder.since(start)] == ["new 1", "new 2"]


def test_credentials_missing_env_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARMCHECK_TEST_PASSWORD", raising=False)
    with pytest.raises(TargetError, match="ARMCHECK_TEST_PASSWORD"):
        Credentials.from_target({"user": "root", "password_env": "ARMCHECK_TEST_PASSWORD"})


def test_credentials_repr_hides_password() -> None:
    assert "hunter2" not in repr(Credentials("root", "hunter2"))


# Part of edk2's front page as its form browser draws it (qemu virt, edk2
# 2022.11): entries at column 4, "Device Manager" highlighted in white on black.
FRONT_PAGE = (
    b"\x1b[0m\x1b[30m\x1b[47m\x1b[08;01H   \x1b[08;04HSelect Language            "
    b"\x1b[10;01H   \x1b[10;02H>\x1b[0m\x1b[37m\x1b[40m\x1b[10;04HDevice Manager"
    b"\x1b[0m\x1b[30m\x1b[47m\x1b[10;18H          "
    b"\x1b[11;01H   \x1b[11;02H>\x1b[11;04HBoot Manager            "
    b"\x1b[12;01H   \x1b[12;02H>\x1b[12;04HBoot Maintenance Manager"
    b"\x1b[14;01H   \x1b[14;04HContinue"
)


def test_screen_finds_label() -> None:
    screen = Screen()
    screen.feed(FRONT_PAGE)
    assert screen.find("Boot Manager") == (11, 4)


def test_screen_highlighted_row() -> None:
    screen = Screen()
    # Split inside an escape sequence, as a serial read may.
    screen.feed(FRONT_PAGE[:100])
    screen.feed(FRONT_PAGE[100:])
    assert screen.highlighted_row(4) == 10


def test_screen_no_highlight_when_all_alike() -> None:
    screen = Screen()
    screen.feed(b"\x1b[30m\x1b[47m\x1b[02;04HOne\x1b[03;04HTwo")
    assert screen.highlighted_row(4) is None


# --- a UEFI shell played on a pseudo-terminal --------------------------------------------

# What edk2's shell sends: a countdown rewritten with \r, a prompt placed with a
# cursor move, the echo of each typed character at its own cursor position, and
# a page break when a command runs with -b.
COUNTDOWN = b"Press ESC in 5 seconds to skip startup.nsh or any other key to continue."
PROMPT = b"\x1b[16;01H\x1b[1m\x1b[33m\x1b[40mShell> \x1b[0m\x1b[37m\x1b[40m"


def _play_uefi_shell(pty_pair) -> threading.Thread:
    import os

    def echo(text: bytes, column: int = 8) -> bytes:
        out = b""
        for offset, char in enumerate(text):
            out += b"\x1b[16;%02dH" % (column + offset) + bytes([char])
        return out + b"\r\n"

    def read_line() -> bytes:
        line = b""
        while not line.endswith(b"\r"):
            line += os.read(pty_pair.master, 64)
        return line[:-1]

    def run() -> None:
        pty_pair.write(b"UEFI Interactive Shell v2.2\r\n" + COUNTDOWN)
        os.read(pty_pair.master, 1)  # the key that ends the countdown
        pty_pair.write(b"\r\n" + PROMPT)
        command = read_line()
        pty_pair.write(echo(command) + b"Line one\r\nLine two\r\n" + PROMPT)
        command = read_line()
        pty_pair.write(echo(command) + b"page 1\r\nPress ENTER to continue or 'Q' break:")
        os.read(pty_pair.master, 1)
        pty_pair.write(b"\r\npage 2\r\n" + PROMPT)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_uefi_shell_output_exact(tmp_path: Path, pty_pair) -> None:
    target = load_target_text(f"console:\n  serial: {pty_pair.path}\n", "pty.yaml", "pty")
    console = open_console(target, None)
    thread = _play_uefi_shell(pty_pair)
    try:
        shell = UefiShell(console)
        shell.reach(10)
        first = shell.run("ver", 10)
        second = shell.run("memmap -b", 10)
    finally:
        console.close()
    thread.join(5)
    assert first == "Line one\nLine two"
    assert second == "page 1\npage 2"


# --- a Linux login played by a real shell on a pseudo-terminal ---------------------------

LOGIN_SCRIPT = """\
stty sane
printf 'board login: '
read user
printf 'Password: '
stty -echo
read password
stty echo
echo
if [ "$user" = root ] && [ "$password" = "s3cret-word" ]; then
  PS1='$ ' exec sh -i
fi
echo 'Login incorrect'
"""


def test_linux_login_and_commands(tmp_path: Path) -> None:
    script = tmp_path / "login.sh"
    script.write_text(LOGIN_SCRIPT, encoding="utf-8")
    target = load_target_text(
        f"console:\n  command: [sh, {script}]\ncredentials:\n  user: root\n"
        "  password: s3cret-word\n",
        "login.yaml",
        "login",
    )
    capture = CaptureWriter(tmp_path / "login.cast", target="login")
    console = open_console(target, capture)
    try:
        shell = LinuxShell(console, Credentials.from_target(target.credentials))
        shell.reach(20)
        echoed = shell.run("echo hello; echo world", 10)
        failed = shell.run("ls /no/such/path", 10)
        quiet = shell.run("true", 10)
        with pytest.raises(ConsoleTimeout):
            shell.run("sleep 30", 1)
        after = shell.run("echo after", 10)
    finally:
        console.close()
        capture.close()
    assert echoed.output == "hello\nworld"
    assert echoed.status == 0
    assert failed.status != 0
    assert "/no/such/path" in failed.output
    assert quiet.output == ""
    assert after.output == "after"
    assert after.status == 0
    raw = (tmp_path / "login.cast").read_text(encoding="utf-8")
    assert "s3cret-word" not in raw
    assert read_capture(tmp_path / "login.cast").markers()[-1].text == "linux-shell"


def test_linux_unknown_prompt_names_the_setting(tmp_path: Path) -> None:
    script = tmp_path / "percent.sh"
    script.write_text("stty sane\nPS1='board% ' exec sh -i\n", encoding="utf-8")
    target = load_target_text(f"console:\n  command: [sh, {script}]\n", "p.yaml", "p")
    console = open_console(target, None)
    try:
        with pytest.raises(ConsoleTimeout) as raised:
            LinuxShell(console).reach(1.5)
    finally:
        console.close()
    assert "board% " in str(raised.value)
    assert "set prompts.linux_shell (default '[#$] *$')" in str(raised.value)


# --- the real Linux guest under qemu and edk2 ------------------------------------------


@pytest.mark.qemu
@pytest.mark.parametrize("linux_boot", ["shell", "direct"])
def test_guest_shell_output_status(tmp_path: Path, linux_boot: str) -> None:
    if find_guest() is None:
        pytest.skip(missing_guest_message())
    base = builtin_target("qemu-virt")
    assert base is not None
    base.qemu["linux_boot"] = linux_boot
    capture = CaptureWriter(tmp_path / "guest.cast", target=base.name)
    console: Console = open_console(base, capture)
    try:
        if linux_boot == "shell":
            uefi = UefiShell(console)
            uefi.reach(60)
            boot = console.transport.linux  # type: ignore[attr-defined]
            uefi.start_linux(boot.shell_command(), 30)
        shell = LinuxShell(console)
        shell.reach(120)
        machine = shell.run("uname -m", 30)
        failed = shell.run("false", 30)
        log = shell.run("dmesg", 30, strip_printk=False)
        shell.power_off(30)
        status = console.transport.exit_status  # type: ignore[attr-defined]
    finally:
        console.close()
        capture.close()
    assert machine.output == "aarch64"
    assert machine.status == 0
    assert failed.status == 1
    assert "ACPI: SPCR" in log.output
    assert status == 0
