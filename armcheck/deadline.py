"""A point on the monotonic clock by which a wait must end."""

from __future__ import annotations

import math
import time


class Deadline:
    """The end of a wait `seconds` from now; None seconds means no limit.

    Counted on the monotonic clock, so a change of the wall clock (NTP, a
    board that sets the host time) neither shortens nor extends a wait.
    """

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float:
        """Return the seconds left, 0 once the deadline has passed, infinity without a limit."""
        if self.end is None:
            return math.inf
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, seconds: float) -> float:
        """Return `seconds`, or the seconds left when fewer remain."""
        return min(seconds, self.remaining())
