"""Show which stage a run is in and for how long.

On a terminal, one line is redrawn in place (`[ 3.2 s] uefi-shell: dmem ...`).
Elsewhere (CI logs, pipes) each stage change is one plain line, so a log
reader sees the same story without carriage returns.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

REDRAW_SECONDS = 0.2


class Progress:
    """The run's status line on standard error."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.start = time.monotonic()
        self.stage = "starting"
        self.detail = ""
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._width = 0

    def __enter__(self) -> Progress:
        if self.live:
            self._thread = threading.Thread(target=self._redraw_loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_stage(self, stage: str, detail: str = "") -> None:
        with self._lock:
            self.stage, self.detail = stage, detail
        if not self.enabled:
            return
        if self.live:
            self._draw()
        else:
            self.stream.write(f"[{self._elapsed():6.1f} s] {self._text()}\n")
            self.stream.flush()

    def set_detail(self, detail: str) -> None:
        with self._lock:
            self.detail = detail
        if self.live:
            self._draw()

    def note(self, message: str) -> None:
        """Print a message on its own line, above the status line on a terminal."""
        if not self.enabled:
            return
        with self._lock:
            prefix = "\r" + " " * self._width + "\r" if self.live else ""
            self.stream.write(f"{prefix}armcheck: {message}\n")
            self.stream.flush()
        if self.live:
            self._draw()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.live:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self.live = False

    def _elapsed(self) -> float:
        return time.monotonic() - self.start

    def _text(self) -> str:
        with self._lock:
            return f"{self.stage}: {self.detail}" if self.detail else self.stage

    def _draw(self) -> None:
        with self._lock:
            line = f"[{self._elapsed():6.1f} s] {self._text()}"[:120]
            padding = max(0, self._width - len(line))
            self._width = len(line)
            self.stream.write("\r" + line + " " * padding)
            self.stream.flush()

    def _redraw_loop(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            self._draw()
