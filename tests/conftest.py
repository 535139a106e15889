"""Shared fixtures: a real pseudo-terminal pair that plays the part of a board."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest


@dataclass
class PtyPair:
    """A pseudo-terminal in raw mode. The test writes to `master`; armcheck opens `path`."""

    master: int
    slave: int
    path: str
    write_times: list[float] = field(default_factory=list)
    write_ends: list[float] = field(default_factory=list)
    writers: list[threading.Thread] = field(default_factory=list)

    def write(self, data: bytes) -> float:
        """Write all of `data` to the master side; return the monotonic time of the write.

        `write_times` gets the time just before the write, so it is already
        stored when a reader wakes, and `write_ends` the time the write returned.
        """
        at = time.monotonic()
        self.write_times.append(at)
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]
        self.write_ends.append(time.monotonic())
        return at

    def write_chunks(self, chunks: Sequence[bytes], interval: float = 0.0) -> threading.Thread:
        """Write chunks `interval` seconds apart from a background thread, and start it."""

        def run() -> None:
            for chunk in chunks:
                try:
                    self.write(chunk)
                except OSError:
                    return  # the test closed the pseudo-terminal
                if interval:
                    time.sleep(interval)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.writers.append(thread)
        return thread


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    master, slave = os.openpty()
    # Raw mode, so the line discipline passes every byte unchanged.
    tty.setraw(slave)
    pair = PtyPair(master, slave, os.ttyname(slave))
    yield pair
    # A writer still running after the test would write into whatever file the
    # next test opens under the same descriptor number: wait for it first.
    for writer in pair.writers:
        writer.join(timeout=30)
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass
