"""Console.expect and sending, on a real pseudo-terminal."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.base import Console
from armcheck.console.keys import key_bytes
from armcheck.console.serial import SerialTransport
from armcheck.errors import BoardFault, ConsoleClosed, ConsoleTimeout, UsageError
from armcheck.targets import SerialSettings


@pytest.fixture
def console(pty_pair) -> Iterator[Console]:
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)))
    console.open()
    yield console
    console.close()


def read_exactly(fd: int, size: int, timeout: float = 5.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size and time.monotonic() < deadline:
        data += os.read(fd, size - len(data))
    return data


def test_expect_returns_match_and_before(console: Console, pty_pair) -> None:
    pty_pair.write(b"UEFI firmware v1.2\r\nversion 42 ready\r\nShell> ")
    match = console.expect(r"version (\d+)", timeout=5)
    assert match.text == "version 42"
    assert match.groups == ("42",)
    assert match.before == "UEFI firmware v1.2\r\n"


def test_expect_list_reports_index(console: Console, pty_pair) -> None:
    pty_pair.write(b"login: ")
    match = console.expect([r"Shell> ", r"login: "], timeout=5)
    assert match.index == 1
    assert match.pattern == r"login: "


def test_expect_across_split_escape(console: Console, pty_pair) -> None:
    pty_pair.write_chunks([b"She", b"\x1b", b"[1;3", b"3m", b"ll> "], interval=0.02)
    assert console.expect(r"Shell> ", timeout=5).text == "Shell> "


def test_expect_consumes_matched_text(console: Console, pty_pair) -> None:
    pty_pair.write(b"prompt> one\r\nprompt> two\r\n")
    console.expect("prompt> ", timeout=5)
    assert console.expect(r"prompt> (\w+)", timeout=5).groups == ("two",)


def test_expect_timeout_message(console: Console, pty_pair) -> None:
    pty_pair.write(b"line one\r\nline two\r\nShell> ")
    with pytest.raises(ConsoleTimeout) as error:
        console.expect(r"NEVER-SEEN", timeout=0.3)
    message = str(error.value)
    assert "'NEVER-SEEN'" in message
    assert "timed out after 0.3 s" in message
    assert "| line two" in message
    assert "| Shell>" in message


def test_expect_timeout_nothing_received(console: Console) -> None:
    with pytest.raises(ConsoleTimeout, match="nothing was received"):
        console.expect("x", timeout=0.1, what="the prompt")


def test_expect_timeout_while_output_flows(console: Console, pty_pair) -> None:
    """A board that never stops printing must not stretch the deadline."""
    writer = pty_pair.write_chunks([b"noise line\r\n"] * 200, interval=0.005)
    started = time.monotonic()
    with pytest.raises(ConsoleTimeout):
        console.expect("NEVER-SEEN", timeout=0.3)
    assert time.monotonic() - started < 0.8
    writer.join()


@pytest.mark.parametrize(
    "output, reason",
    [
        (b"[   5.1] Kernel panic - not syncing: VFS: Unable to mount root\r\n", "panicked"),
        (b"Internal error: Oops: 96000004 [#1] SMP\r\n", "oopsed"),
        (b"ASSERT [DxeCore] /build/Loader.c(123): Status == 0\r\n", "ASSERT"),
        (b"Synchronous Exception at 0x000000007F6A1234\r\n", "synchronous exception"),
    ],
)
def test_death_pattern_ends_wait(console: Console, pty_pair, output: bytes, reason: str) -> None:
    pty_pair.write(b"booting\r\n" + output)
    started = time.monotonic()
    with pytest.raises(BoardFault) as error:
        console.expect("login: ", timeout=10)
    assert time.monotonic() - started < 5
    assert reason in str(error.value)
    assert "'login: '" in str(error.value)


def test_added_death_pattern(console: Console, pty_pair) -> None:
    console.add_death_pattern(r"BMC watchdog fired", "the BMC watchdog reset the board")
    pty_pair.write(b"... BMC watchdog fired\r\n")
    with pytest.raises(BoardFault, match="BMC watchdog reset"):
        console.expect("Shell> ", timeout=5)


def test_invalid_pattern_usage_error(console: Console) -> None:
    with pytest.raises(UsageError, match=r"invalid pattern '\('"):
        console.expect("(", timeout=1)


BANNER = rb"UEFI firmware \(version [^)]*\)"


def test_reset_watch_second_banner(console: Console, pty_pair) -> None:
    pty_pair.write(b"UEFI firmware (version 1.0)\r\nBdsDxe: loading Boot0001\r\n")
    console.expect(BANNER.decode(), timeout=5)
    console.watch_for_reset(BANNER.decode())
    console.expect("BdsDxe", timeout=5)
    pty_pair.write(b"EFI stub: Booting Linux\r\nUEFI firmware (version 1.0)\r\n")
    with pytest.raises(BoardFault) as error:
        console.expect("login: ", timeout=5)
    assert "firmware banner appeared a second time" in str(error.value)
    assert "UEFI firmware (version 1.0)" in str(error.value)


def test_reset_watch_ignores_earlier_banner(console: Console, pty_pair) -> None:
    pty_pair.write(b"UEFI firmware (version 1.0)\r\n")
    console.drain(0.2)
    console.watch_for_reset(BANNER.decode())
    pty_pair.write(b"Shell> ")
    assert console.expect("Shell> ", timeout=5).text == "Shell> "


def test_eof_closed_message(console: Console, pty_pair) -> None:
    pty_pair.write(b"last words\r\n")
    console.expect("last", timeout=5)
    os.close(pty_pair.master)
    os.close(pty_pair.slave)
    with pytest.raises(ConsoleClosed) as error:
        console.expect("Shell> ", timeout=5)
    assert "| last words" in str(error.value)


def test_before_memory_bounded(pty_pair) -> None:
    console = Console(
        SerialTransport(SerialSettings(port=pty_pair.path)),
        search_window=1024,
        before_limit=4096,
    )
    console.open()
    block = b"".join(b"line %06d of output\r\n" % i for i in range(50000))
    pty_pair.write_chunks([block, b"THE-END\r\n"])
    match = console.expect("THE-END", timeout=10)
    console.close()
    assert match.before_truncated
    assert len(match.before) <= console.before_limit
    assert match.before.endswith("line 049999 of output\r\n")


def test_send_key_bytes(console: Console, pty_pair) -> None:
    for name in ("ESC", "F2", "F10", "Down", "Ctrl-C", "Enter"):
        console.send_key(name)
    expected = b"".join(key_bytes(name) for name in ("ESC", "F2", "F10", "DOWN", "CTRL-C", "ENTER"))
    assert read_exactly(pty_pair.master, len(expected)) == expected


def test_key_bytes_function_keys() -> None:
    assert key_bytes("F1") == b"\x1bOP"
    assert key_bytes("F12") == b"\x1b[24~"
    assert key_bytes("ctrl-x") == b"\x18"


def test_key_bytes_unknown() -> None:
    with pytest.raises(UsageError, match="unknown key name 'F13'"):
        key_bytes("F13")


def test_char_delay_spaces_bytes(tmp_path: Path, pty_pair) -> None:
    capture = CaptureWriter(tmp_path / "slow.cast")
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), capture, char_delay=0.05)
    console.open()
    started = time.monotonic()
    console.sendline("boot")
    elapsed = time.monotonic() - started
    console.close()
    capture.close()
    assert read_exactly(pty_pair.master, 5) == b"boot\r"
    assert elapsed >= 0.2
    inputs = [event.text for event in read_capture(tmp_path / "slow.cast").events]
    assert inputs == ["boot\r"]


def test_char_delay_negative_rejected(pty_pair) -> None:
    with pytest.raises(UsageError, match="invalid character delay -1"):
        Console(SerialTransport(SerialSettings(port=pty_pair.path)), char_delay=-1)


def test_mark_written_to_capture(tmp_path: Path, pty_pair) -> None:
    capture = CaptureWriter(tmp_path / "marks.cast")
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), capture)
    console.open()
    console.mark("uefi-shell")
    console.close()
    capture.close()
    markers = read_capture(tmp_path / "marks.cast").markers()
    assert [event.text for event in markers] == ["uefi-shell"]


def test_recent_lines_include_partial(console: Console, pty_pair) -> None:
    pty_pair.write(b"one\r\ntwo\r\nShell> ")
    console.expect("Shell> ", timeout=5)
    assert console.recent_lines()[-3:] == ["one", "two", "Shell> "]
