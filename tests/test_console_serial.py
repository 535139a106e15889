"""Serial consoles: pyserial on a real pseudo-terminal and on a local TCP server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from serial import rfc2217

from armcheck.capture import read_capture
from armcheck.console.base import Console
from armcheck.console.serial import SerialTransport
from armcheck.errors import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    ConsoleClosed,
    ConsoleError,
    ConsoleTimeout,
    TargetError,
)
from armcheck.targets import SerialSettings

ARMCHECK = [sys.executable, "-m", "armcheck"]


@pytest.mark.parametrize(
    "change, value",
    [
        ("baud", 0),
        ("baud", "fast"),
        ("baud", -9600),
        ("bytesize", 9),
        ("parity", "X"),
        ("stopbits", 3),
        ("rtscts", "yes"),
    ],
)
def test_settings_invalid_value(change: str, value: object) -> None:
    settings = SerialSettings(port="/dev/ttyUSB0")
    setattr(settings, change, value)
    with pytest.raises(TargetError) as error:
        SerialTransport(settings)
    assert repr(value) in str(error.value)
    assert "/dev/ttyUSB0" in str(error.value)


@pytest.mark.parametrize("parity", ["N", "e", "odd", "Mark", "S"])
def test_settings_parity_names(parity: str) -> None:
    SerialTransport(SerialSettings(port="/dev/ttyUSB0", parity=parity))


def test_open_missing_device() -> None:
    transport = SerialTransport(SerialSettings(port="/dev/armcheck-no-such-tty"))
    with pytest.raises(ConsoleError) as error:
        transport.open()
    message = str(error.value)
    assert "cannot open serial port /dev/armcheck-no-such-tty" in message
    assert "No such file or directory" in message


def test_open_refused_socket() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = SerialTransport(SerialSettings(port=f"socket://127.0.0.1:{port}"))
    with pytest.raises(ConsoleError, match="check that the serial server runs"):
        transport.open()


def test_pty_read_arrival_time(pty_pair) -> None:
    """A read returns as soon as bytes arrive, not after a fixed read timeout."""
    transport = SerialTransport(SerialSettings(port=pty_pair.path))
    transport.open()
    delays = []
    for _ in range(5):
        threading.Timer(0.05, pty_pair.write, args=(b"tick\r\n",)).start()
        data = transport.read(4096, timeout=2.0)
        delays.append(time.monotonic() - pty_pair.write_times[-1])
        assert data == b"tick\r\n"
    transport.close()
    assert max(delays) < 0.005, f"read returned {max(delays) * 1000:.1f} ms after the write"


def test_pty_read_timeout_empty(pty_pair) -> None:
    transport = SerialTransport(SerialSettings(port=pty_pair.path))
    transport.open()
    assert transport.read(4096, timeout=0.05) == b""
    transport.close()


def test_pty_lost_port(pty_pair) -> None:
    transport = SerialTransport(SerialSettings(port=pty_pair.path))
    transport.open()
    os.close(pty_pair.master)
    with pytest.raises(ConsoleClosed, match=f"serial port {pty_pair.path} was lost"):
        transport.read(4096, timeout=2.0)
    transport.close()


def test_pty_write_reaches_board(pty_pair) -> None:
    transport = SerialTransport(SerialSettings(port=pty_pair.path))
    transport.open()
    transport.write(b"\x1b[12~boot\r")
    transport.close()
    assert os.read(pty_pair.master, 100) == b"\x1b[12~boot\r"


class SerialServer:
    """A raw TCP serial server on 127.0.0.1, as ser2net serves a port: one client at a time."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.client: socket.socket | None = None
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.client, _ = self.listener.accept()
        self.accepted.set()

    def send(self, data: bytes) -> None:
        assert self.accepted.wait(5)
        assert self.client is not None
        self.client.sendall(data)

    def receive(self, size: int) -> bytes:
        assert self.client is not None
        self.client.settimeout(5)
        data = b""
        while len(data) < size:
            data += self.client.recv(size - len(data))
        return data

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.listener.close()


@pytest.fixture
def server() -> Iterator[SerialServer]:
    server = SerialServer()
    yield server
    server.close()


def test_socket_url_console(server: SerialServer, tmp_path: Path) -> None:
    from armcheck.capture import CaptureWriter

    capture = CaptureWriter(tmp_path / "net.cast")
    url = f"socket://127.0.0.1:{server.port}"
    console = Console(SerialTransport(SerialSettings(port=url)), capture)
    console.open()
    server.send(b"\x1b[0mUEFI Interactive Shell v2.2\r\nShell> ")
    console.expect("Shell> ", timeout=5)
    console.sendline("ver")
    echoed = server.receive(4)
    server.send(b"ver\r\nUEFI v2.70 (EDK II, 0x00010000)\r\n")
    match = console.expect(r"UEFI v([\d.]+)", timeout=5)
    server.client.close()  # type: ignore[union-attr]
    with pytest.raises(ConsoleClosed, match="closed the connection"):
        console.expect("never", timeout=5)
    console.close()
    capture.close()
    assert echoed == b"ver\r"
    assert match.groups == ("2.70",)
    assert read_capture(tmp_path / "net.cast").output_bytes().startswith(b"\x1b[0mUEFI")


# The byte stream a board might print: invalid UTF-8, NUL, escape sequences,
# a countdown overwritten with lone carriage returns, and a final marker.
BOARD_CHUNKS = [
    b"\x1b[2J\x1b[01;01H\x1b[0m\x1b[35m\x1b[40mUEFI firmware (version 1.0)\r\n",
    b"bad utf-8 \xff\xfe\xc3( and NUL \x00\x00 bytes\r\n",
    b"Press ESC in 3 seconds\rPress ESC in 2 seconds",
    b"\rPress ESC in 1 seconds\r\n\x1b[1;33mShell> \x1b[0m",
    b"split escape \x1b[",
    b"0m done\r\nMARK-END\r\n",
]


def run_capture(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*ARMCHECK, *args], capture_output=True, timeout=timeout)


def test_cli_capture_replay_byte_exact(pty_pair, tmp_path: Path) -> None:
    cast = tmp_path / "x.cast"
    process = start_capture(
        cast, pty_pair.path, ["--baud", "115200", "--until", "MARK-END", "--timeout", "30"]
    )
    for chunk in BOARD_CHUNKS:
        pty_pair.write(chunk)
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_OK, stderr.decode()

    replay = run_capture(["replay", str(cast), "--speed", "1000"])
    assert replay.returncode == EXIT_OK
    assert replay.stdout == b"".join(BOARD_CHUNKS)

    # Each chunk starts an output event stamped within 5 ms of its write,
    # measured relative to the first chunk because the capture's time zero
    # is not known here. A write happened between the times taken just
    # before and just after os.write, so the allowed range widens by that.
    events = read_capture(cast).output_events()
    offsets, position = {}, 0
    for event in events:
        offsets[position] = event.time
        position += len(event.data)
    starts = [sum(len(c) for c in BOARD_CHUNKS[:i]) for i in range(len(BOARD_CHUNKS))]
    assert all(start in offsets for start in starts), "a chunk was merged into another read"
    before, after = pty_pair.write_times, pty_pair.write_ends
    for index, start in enumerate(starts):
        recorded = offsets[start] - offsets[0]
        earliest = before[index] - after[0] - 0.005
        latest = after[index] - before[0] + 0.005
        assert earliest <= recorded <= latest, f"chunk {index}: {recorded:.4f} s not in range"


def start_capture(cast: Path, port: str, args: list[str]) -> subprocess.Popen[bytes]:
    """Start `armcheck capture PORT ARGS -o CAST` and return once it has opened PORT.

    pyserial discards what a port received before it was opened, so a test
    writes only after the capture process has the port open (seen in /proc).
    """
    process = subprocess.Popen(
        [*ARMCHECK, "capture", port, *args, "-o", str(cast)], stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _holds(process.pid, port):
        time.sleep(0.01)
    time.sleep(0.1)  # pyserial discards pending input just after the open
    return process


def _holds(pid: int, path: str) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue
    return False


def test_cli_capture_timeout_exit_3(pty_pair, tmp_path: Path) -> None:
    process = start_capture(
        tmp_path / "t.cast", pty_pair.path, ["--until", "NEVER", "--timeout", "1.5"]
    )
    pty_pair.write(b"first line\r\nsecond line\r\n")
    _, stderr_bytes = process.communicate(timeout=30)
    stderr = stderr_bytes.decode()
    assert process.returncode == EXIT_INCOMPLETE
    assert "timed out after 1.5 s waiting for --until 'NEVER'" in stderr
    assert "| second line" in stderr


def test_cli_capture_no_until_exit_0(pty_pair, tmp_path: Path) -> None:
    cast = tmp_path / "plain.cast"
    process = start_capture(cast, pty_pair.path, ["--timeout", "1.5"])
    pty_pair.write(b"some output\r\n")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_OK, stderr.decode()
    assert read_capture(cast).output_bytes() == b"some output\r\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--until", "(unclosed"], "invalid --until pattern '(unclosed'"),
        (["--timeout", "0"], "invalid --timeout 0"),
    ],
)
def test_cli_capture_bad_usage(pty_pair, tmp_path: Path, args: list[str], message: str) -> None:
    result = run_capture(["capture", pty_pair.path, "-o", str(tmp_path / "u.cast"), *args])
    assert result.returncode == EXIT_USAGE
    assert message in result.stderr.decode()


def test_cli_capture_unknown_target(tmp_path: Path) -> None:
    result = run_capture(["capture", "no-such-board", "-o", str(tmp_path / "u.cast")])
    assert result.returncode == EXIT_USAGE
    assert "unknown target 'no-such-board'" in result.stderr.decode()


def test_cli_capture_closed_port_leaves_no_file(tmp_path: Path) -> None:
    cast = tmp_path / "u.cast"
    result = run_capture(["capture", "/dev/ttyARMCHECK-NOPE", "-o", str(cast)])
    assert result.returncode == EXIT_INCOMPLETE
    assert "cannot open serial port" in result.stderr.decode()
    assert not cast.exists()


def test_cli_capture_lost_console_exit_3(pty_pair, tmp_path: Path) -> None:
    process = start_capture(tmp_path / "lost.cast", pty_pair.path, ["--timeout", "30"])
    pty_pair.write(b"going away\r\n")
    time.sleep(0.3)
    os.close(pty_pair.master)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_INCOMPLETE
    assert "was lost" in stderr.decode()
    assert "| going away" in stderr.decode()


def test_cli_console_interactive(pty_pair, tmp_path: Path) -> None:
    """Keys typed in `armcheck console` reach the board; Ctrl-] leaves with status 0."""
    import pexpect

    cast = tmp_path / "term.cast"
    terminal = pexpect.spawn(
        sys.executable, ["-m", "armcheck", "console", pty_pair.path, "-o", str(cast)], timeout=20
    )
    terminal.expect("press Ctrl-] to leave")
    time.sleep(0.3)
    pty_pair.write(b"Shell> ")
    terminal.expect("Shell> ")
    terminal.send("ver\r")
    typed = b""
    deadline = time.monotonic() + 10
    while not typed.endswith(b"\r") and time.monotonic() < deadline:
        typed += os.read(pty_pair.master, 100)
    terminal.send("\x1d")
    terminal.expect(pexpect.EOF)
    terminal.close()
    assert typed == b"ver\r"
    assert terminal.exitstatus == EXIT_OK
    assert read_capture(cast).output_bytes() == b"Shell> "
    assert [event.kind for event in read_capture(cast).events] == ["o"]


class Rfc2217Server:
    """A local RFC 2217 server, as ser2net or a labgrid exporter runs one, on 127.0.0.1.

    Its serial device is pyserial's loop:// port: `board_output` puts bytes on
    it as if the board printed them, and bytes from the client are collected
    in `received`.
    """

    def __init__(self) -> None:
        self.device = serial.serial_for_url("loop://", timeout=0.05)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.received = b""
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    def board_output(self, data: bytes) -> None:
        self.device.write(data)

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        lock = threading.Lock()

        class Writer:
            def write(self, data: bytes) -> None:
                with lock:
                    connection.sendall(data)

        manager = rfc2217.PortManager(self.device, Writer())
        threading.Thread(
            target=self._forward_output, args=(manager, connection, lock), daemon=True
        ).start()
        while self.running:
            try:
                data = connection.recv(4096)
            except OSError:
                break
            if not data:
                break
            self.received += b"".join(manager.filter(data))
        self.running = False

    def _forward_output(self, manager: object, connection: socket.socket, lock) -> None:
        while self.running:
            data = self.device.read(4096)
            if data:
                with lock:
                    connection.sendall(b"".join(manager.escape(data)))  # type: ignore[attr-defined]

    def close(self) -> None:
        self.running = False
        self.listener.close()


# pyserial 3.5's rfc2217 client calls the deprecated Thread.setDaemon().
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rfc2217_url_console() -> None:
    server = Rfc2217Server()
    try:
        url = f"rfc2217://127.0.0.1:{server.port}"
        console = Console(SerialTransport(SerialSettings(port=url, baud=115200)))
        console.open()
        server.board_output(b"\x1b[0mUEFI Interactive Shell v2.2\r\n\xffShell> ")
        match = console.expect("Shell> ", timeout=10)
        console.sendline("ver")
        deadline = time.monotonic() + 10
        while server.received != b"ver\r" and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(ConsoleTimeout):
            console.expect("never", timeout=0.2)
        waited = time.monotonic() - started
        console.close()
    finally:
        server.close()
    assert match.before == "UEFI Interactive Shell v2.2\r\n\ufffd"
    assert server.received == b"ver\r"
    assert waited < 0.5


def test_cli_capture_interrupt_exit_130(pty_pair, tmp_path: Path) -> None:
    cast = tmp_path / "interrupted.cast"
    process = start_capture(cast, pty_pair.path, ["--until", "NEVER", "--timeout", "60"])
    pty_pair.write(b"recorded before Ctrl-C\r\n")
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode()
    assert read_capture(cast).output_bytes() == b"recorded before Ctrl-C\r\n"
    assert not read_capture(cast).truncated


def test_cli_capture_missing_target_file(tmp_path: Path) -> None:
    result = run_capture(["capture", str(tmp_path / "board.yaml"), "-o", str(tmp_path / "u.cast")])
    assert result.returncode == EXIT_USAGE
    assert f"target file not found: {tmp_path / 'board.yaml'}" in result.stderr.decode()
