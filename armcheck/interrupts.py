"""Ctrl-C that is not lost while a subprocess starts.

Python raises KeyboardInterrupt in whatever Python code runs when SIGINT
arrives. When that code is a callback whose exceptions Python only reports,
the interrupt is dropped with "Exception ignored in ...". Every subprocess
start runs such callbacks: the logging module releases its lock after
`os.fork`. So the handler here also records the signal, the console read
loop raises it again, and the code that handles Ctrl-C marks it handled.
"""

from __future__ import annotations

import signal
from types import FrameType

_pending = False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _pending
    _pending = True
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT here, unless it is ignored (a background job) or handled elsewhere."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def check() -> None:
    """Raise KeyboardInterrupt again if a Ctrl-C was received and not handled yet."""
    if _pending:
        raise KeyboardInterrupt


def handled() -> None:
    """Mark the last Ctrl-C as handled: check() no longer raises it."""
    global _pending
    _pending = False
