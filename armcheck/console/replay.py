"""A capture played back as if a board printed it.

The output events of a capture come out of `read` at their recorded times
divided by `speed`, counted from `open`. Input and marker events are skipped,
and bytes written to the transport are dropped (logged at DEBUG), so an
interaction script can run against a recorded board unchanged.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator

from armcheck.capture import OUTPUT, Event, iter_events
from armcheck.console.base import Transport
from armcheck.errors import ConsoleClosed, TargetError

log = logging.getLogger(__name__)


def validate_speed(speed: float) -> float:
    """Return `speed` as a float, or raise TargetError when it is not a positive number."""
    try:
        value = float(speed)
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0 or math.isnan(value):
        raise TargetError(
            f"invalid replay speed {speed!r}: give a factor above 0 "
            "(1 plays in recorded time, 10 ten times faster)"
        )
    return value


class ReplayTransport(Transport):
    """Play the output events of the capture at `path`, timing divided by `speed`."""

    def __init__(self, path: str | os.PathLike[str], speed: float = 1.0) -> None:
        self.path = os.fspath(path)
        self.speed = validate_speed(speed)
        self.name = f"replay of {self.path}"
        self._events: Iterator[Event] | None = None
        self._start = 0.0
        self._pending = b""  # bytes of a due event that did not fit in the last read
        self._next: Event | None = None

    def open(self) -> None:
        log.info("replaying %s at %g times recorded speed", self.path, self.speed)
        self._events = (event for event in iter_events(self.path) if event.kind == OUTPUT)
        # Read the header now, so that a bad capture fails at open and not at the first read.
        self._next = next(self._events, None)
        self._start = time.monotonic()

    def due(self, event: Event) -> float:
        """Return the monotonic time at which `event` is played."""
        return self._start + event.time / self.speed

    def read(self, size: int, timeout: float | None) -> bytes:
        if self._events is None:
            raise ConsoleClosed(f"{self.name} is not open")
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        event = self._next
        if event is None:
            raise ConsoleClosed(f"{self.name} reached the end of the capture")

        wait = self.due(event) - time.monotonic()
        if wait > 0:
            if timeout is not None and timeout < wait:
                time.sleep(max(0.0, timeout))
                return b""
            time.sleep(wait)

        self._next = next(self._events, None)
        data = event.data
        data, self._pending = data[:size], data[size:]
        return data

    def write(self, data: bytes) -> None:
        log.debug("%s ignores input %r", self.name, data)

    def close(self) -> None:
        if self._events is not None:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()
            self._events = None
            log.info("stopped %s", self.name)
