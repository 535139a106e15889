"""A console reached through a program run on a pseudo-terminal.

BMC serial-over-LAN (`ipmitool -I lanplus -H bmc -U admin sol activate`),
`telnet host port`, `conmux-attach` and similar programs all print the
board's output and pass keystrokes on. The program runs as the leader of a
new session on its own pseudo-terminal (ptyprocess), so close() can end it
together with any children it started. The terminal is put in raw mode
before the program starts, so the line discipline neither echoes input nor
turns `\\n` into `\\r\\n`, and the capture contains the bytes the program wrote.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import shutil
import signal
import time
import tty
from collections.abc import Sequence

from ptyprocess import PtyProcess
from ptyprocess.ptyprocess import PtyProcessError

from armcheck.console.base import Transport
from armcheck.deadline import Deadline
from armcheck.errors import ConsoleClosed, ConsoleError, TargetError

log = logging.getLogger(__name__)

TERMINAL_SIZE = (31, 100)  # rows, columns; the size recorded in capture headers
TERMINATE_GRACE = 2.0  # seconds between SIGTERM and SIGKILL on close


def _make_stdin_raw() -> None:
    """Run in the child before exec: raw mode on its terminal."""
    tty.setraw(0)


class CommandTransport(Transport):
    """Run `argv` on a pseudo-terminal and use it as the board's console."""

    def __init__(self, argv: Sequence[str]) -> None:
        if not argv or not all(isinstance(arg, str) for arg in argv):
            raise TargetError(
                f"console command {argv!r} is not a list of strings: give the program "
                "and its arguments, such as [ipmitool, -I, lanplus, ..., sol, activate]"
            )
        self.argv = list(argv)
        self.name = " ".join(self.argv)
        self._process: PtyProcess | None = None

    def open(self) -> None:
        program = shutil.which(self.argv[0])
        if program is None:
            raise TargetError(
                f"console command {self.argv[0]!r} was not found: install it or give its "
                "full path in the target file"
            )
        log.info("starting console command %s", self.name)
        try:
            self._process = PtyProcess.spawn(
                [program, *self.argv[1:]],
                echo=False,
                preexec_fn=_make_stdin_raw,
                dimensions=TERMINAL_SIZE,
            )
        except OSError as err:
            raise ConsoleError(
                f"cannot start console command {self.name}: {err.strerror or err}"
            ) from err

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def read(self, size: int, timeout: float | None) -> bytes:
        process = self._process
        if process is None:
            raise ConsoleClosed(f"console command {self.name} is not running")
        if timeout is not None and timeout < 0:
            timeout = 0
        try:
            ready, _, _ = select.select([process.fd], [], [], timeout)
        except InterruptedError:
            return b""
        if not ready:
            return b""
        try:
            data = os.read(process.fd, size)
        except OSError as err:
            # Linux reports EIO on the pseudo-terminal once the program and
            # every child holding the terminal have exited.
            if err.errno != errno.EIO:
                raise ConsoleClosed(f"console command {self.name} failed: {err}") from err
            data = b""
        if not data:
            raise ConsoleClosed(f"console command {self.name} {self._describe_exit()}")
        return data

    def _describe_exit(self) -> str:
        process = self._process
        if process is None:
            return "is not running"
        if not _wait_for_exit(process, 1.0):
            return "closed its terminal but is still running"
        if process.signalstatus is not None:
            return f"was killed by signal {process.signalstatus}"
        return f"exited with status {process.exitstatus}"

    def write(self, data: bytes) -> None:
        process = self._process
        if process is None:
            raise ConsoleClosed(f"console command {self.name} is not running")
        view = memoryview(data)
        try:
            while view:
                written = os.write(process.fd, view)
                view = view[written:]
        except OSError as err:
            raise ConsoleClosed(f"cannot write to console command {self.name}: {err}") from err

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.isalive():
            self._signal_group(process.pid, signal.SIGTERM)
            if not _wait_for_exit(process, TERMINATE_GRACE):
                log.warning("console command %s ignored SIGTERM; sending SIGKILL", self.name)
                self._signal_group(process.pid, signal.SIGKILL)
        try:
            process.close(force=True)
        except (OSError, PtyProcessError) as err:
            log.warning("closing console command %s failed: %s", self.name, err)
        log.info("stopped console command %s", self.name)

    def _signal_group(self, pid: int, signum: int) -> None:
        # The program leads its own session, so its process group id is its pid.
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass
        except OSError as err:
            log.warning("cannot signal console command %s: %s", self.name, err)


def _wait_for_exit(process: PtyProcess, timeout: float) -> bool:
    """Wait up to `timeout` seconds for `process` to end; return whether it did.

    A pidfd (Linux 5.3 and later) becomes readable when the process ends, so
    select wakes at once. Elsewhere this checks every 10 ms.
    """
    try:
        pidfd: int | None = os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        pidfd = None
    deadline = Deadline(timeout)
    try:
        while process.isalive():
            if deadline.expired:
                return False
            if pidfd is not None:
                select.select([pidfd], [], [], deadline.remaining())
            else:
                time.sleep(min(0.01, deadline.remaining()))
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)
