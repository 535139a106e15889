"""Serial consoles through pyserial: device paths and `rfc2217://` / `socket://` URLs.

Arrival times must not be quantised, so a read never sleeps on a fixed
timeout. For a device path and for `socket://` the transport waits with
select() on the file descriptor and then reads everything that is waiting in
one call. Other URL kinds (`rfc2217://`, `loop://`) have no descriptor of
their own: a pyserial thread queues the bytes it receives. For them
pyserial's read waits on that queue, which wakes at the first byte, and the
rest of the queue is read at once.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import time
from typing import Any

import serial

from armcheck.console.base import Transport
from armcheck.errors import ConsoleClosed, ConsoleError, TargetError
from armcheck.targets import PARITIES, SerialSettings

log = logging.getLogger(__name__)

BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)
MAX_BAUD = 20_000_000
# Seconds a queue-based pyserial port (rfc2217://) waits per read call. A byte
# that arrives wakes the wait at once, so this only bounds how late a read
# with nothing to return notices its own timeout. It is set once at open,
# because setting pyserial's timeout makes an rfc2217 port renegotiate.
QUEUE_POLL = 0.02


def validate_settings(settings: SerialSettings) -> dict[str, Any]:
    """Check serial settings and return them as pyserial keyword arguments.

    Raise TargetError naming the bad value and the values that are accepted.
    """
    port = settings.port
    baud = settings.baud
    if isinstance(baud, bool) or not isinstance(baud, int) or not 0 < baud <= MAX_BAUD:
        raise TargetError(
            f"serial port {port}: invalid baud rate {baud!r}: give a whole number of "
            "bits per second such as 9600, 115200 or 1500000"
        )
    if settings.bytesize not in BYTESIZES:
        raise TargetError(
            f"serial port {port}: invalid data bits {settings.bytesize!r}: use 5, 6, 7 or 8"
        )
    parity = PARITIES.get(str(settings.parity).strip().upper())
    if parity is None:
        raise TargetError(
            f"serial port {port}: invalid parity {settings.parity!r}: use N, E, O, M or S "
            "(none, even, odd, mark, space)"
        )
    if isinstance(settings.stopbits, bool) or settings.stopbits not in STOPBITS:
        raise TargetError(
            f"serial port {port}: invalid stop bits {settings.stopbits!r}: use 1, 1.5 or 2"
        )
    for name in ("rtscts", "xonxoff"):
        value = getattr(settings, name)
        if not isinstance(value, bool):
            raise TargetError(f"serial port {port}: {name} must be true or false, not {value!r}")
    return {
        "baudrate": baud,
        "bytesize": settings.bytesize,
        "parity": parity,
        "stopbits": settings.stopbits,
        "rtscts": settings.rtscts,
        "xonxoff": settings.xonxoff,
    }


class SerialTransport(Transport):
    """A serial port or network serial server opened with pyserial's `serial_for_url`."""

    def __init__(self, settings: SerialSettings) -> None:
        self.settings = settings
        self.options = validate_settings(settings)
        self.name = settings.port
        self._port: Any = None
        self._fd: int | None = None
        self._socket: socket.socket | None = None

    def open(self) -> None:
        log.info("opening serial port %s at %d baud", self.name, self.settings.baud)
        try:
            port = serial.serial_for_url(self.name, timeout=0, **self.options)
        except (serial.SerialException, OSError, ValueError) as err:
            raise ConsoleError(self._open_failure(err)) from err
        self._port = port

        # Prefer the descriptor: select() on it wakes at the first byte. The
        # socket of an rfc2217:// port carries Telnet framing and belongs to
        # pyserial's reader thread, so only a socket:// port is read directly.
        fd = getattr(port, "fd", None)
        sock = getattr(port, "_socket", None) if self.name.startswith("socket://") else None
        if isinstance(fd, int):
            # Non-blocking, so that the reads after the first return at once
            # when nothing more is waiting.
            os.set_blocking(fd, False)
            self._fd = fd
        elif isinstance(sock, socket.socket):
            self._socket = sock
        else:
            port.timeout = QUEUE_POLL

    def _open_failure(self, err: Exception) -> str:
        # pyserial's SerialException carries the OS errno but repeats the port in
        # its text; the errno's own words read better after our port name.
        number = getattr(err, "errno", None)
        reason = os.strerror(number) if isinstance(number, int) else None
        reason = reason or getattr(err, "strerror", None) or str(err)
        if self.name.startswith(("socket://", "rfc2217://")):
            hint = "check that the serial server runs and that host and port are right"
        else:
            hint = (
                "check that the device exists, that no other program (minicom, screen, "
                "another armcheck) holds it, and that you may open it (the dialout group)"
            )
        return f"cannot open serial port {self.name}: {reason}; {hint}"

    def read(self, size: int, timeout: float | None) -> bytes:
        if self._port is None:
            raise ConsoleClosed(f"serial port {self.name} is not open")
        if self._fd is not None:
            return self._read_fd(self._fd, size, timeout)
        if self._socket is not None:
            return self._read_socket(self._socket, size, timeout)
        return self._read_pyserial(size, timeout)

    def _read_fd(self, fd: int, size: int, timeout: float | None) -> bytes:
        if not _wait_readable(fd, timeout):
            return b""
        try:
            data = os.read(fd, size)
        except BlockingIOError:
            return b""
        except OSError as err:
            # A pseudo-terminal whose other side closed reads EIO; a USB
            # adapter that was unplugged reads ENXIO or ENODEV.
            raise ConsoleClosed(f"serial port {self.name} was lost: {err.strerror}") from err
        if not data:
            raise ConsoleClosed(
                f"serial port {self.name} was lost: it is readable but returned no data "
                "(unplugged, or another program holds it)"
            )
        # A pseudo-terminal hands out at most about 4 KB per read. Taking the
        # rest of what is already waiting now means a fast stream costs fewer reads.
        parts = [data]
        waiting = size - len(data)
        while waiting > 0:
            try:
                more = os.read(fd, waiting)
            except OSError:
                break
            if not more:
                break
            parts.append(more)
            waiting -= len(more)
        return b"".join(parts) if len(parts) > 1 else data

    def _read_socket(self, sock: socket.socket, size: int, timeout: float | None) -> bytes:
        if not _wait_readable(sock.fileno(), timeout):
            return b""
        try:
            data = sock.recv(size)
        except BlockingIOError:
            return b""
        except OSError as err:
            raise ConsoleClosed(f"connection to {self.name} was lost: {err}") from err
        if not data:
            raise ConsoleClosed(f"the serial server at {self.name} closed the connection")
        return data

    def _read_pyserial(self, size: int, timeout: float | None) -> bytes:
        port = self._port
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            first = port.read(1)
            while not first:
                if deadline is not None and time.monotonic() >= deadline:
                    return b""
                first = port.read(1)
            # The bytes counted as waiting are queued already, so this read does not wait.
            waiting = min(port.in_waiting, size - 1)
            return first + (port.read(waiting) if waiting > 0 else b"")
        except (serial.SerialException, OSError) as err:
            raise ConsoleClosed(f"serial port {self.name} was lost: {err}") from err

    def write(self, data: bytes) -> None:
        if self._port is None:
            raise ConsoleClosed(f"serial port {self.name} is not open")
        try:
            self._port.write(data)
        except (serial.SerialException, OSError) as err:
            raise ConsoleClosed(f"cannot write to serial port {self.name}: {err}") from err

    def close(self) -> None:
        port, self._port = self._port, None
        self._fd = None
        self._socket = None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as err:
                log.warning("closing serial port %s failed: %s", self.name, err)
            log.info("closed serial port %s", self.name)


def _wait_readable(fd: int, timeout: float | None) -> bool:
    """Wait until `fd` has data (True) or `timeout` seconds passed (False)."""
    if timeout is not None and timeout < 0:
        timeout = 0
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    except InterruptedError:
        return False
    except OSError as err:
        if err.errno == errno.EBADF:
            raise ConsoleClosed("the console was closed while a read waited") from err
        raise
    return bool(ready)
