"""Whether a process has the terminal side of a pseudo-terminal open, seen from the master.

Linux reports POLLHUP on the master while no process has the terminal side
open, and stops reporting it once one opens it.
"""

from __future__ import annotations

import select
import time

from armcheck.deadline import Deadline

POLL_INTERVAL = 0.01  # seconds between checks while waiting for a reader to open


def has_reader(master: int) -> bool:
    """Tell whether a process has the terminal side of `master` open."""
    return not _hung_up(master, 0)


def wait_for_reader(master: int, timeout: float | None = None) -> bool:
    """Wait until a process opens the terminal side; return False if `timeout` seconds pass.

    poll cannot wait for POLLHUP to clear, so this checks every POLL_INTERVAL.
    """
    deadline = Deadline(timeout)
    while not has_reader(master):
        if deadline.expired:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def wait_for_reader_gone(master: int) -> None:
    """Block until no process has the terminal side open any more."""
    _hung_up(master, None)


def _hung_up(master: int, timeout_ms: int | None) -> bool:
    poller = select.poll()
    poller.register(master, select.POLLHUP)
    return any(mask & select.POLLHUP for _, mask in poller.poll(timeout_ms))
