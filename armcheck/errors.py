"""The armcheck error tree.

Errors are sorted by who has to act, and each kind maps onto an exit status
of `armcheck run` and `armcheck check`:

- UsageError: the user's input (arguments, profile, target file, an input
  file of the wrong kind) is wrong; exit 2.
- ConsoleError and its children: the run could not be completed (the console
  closed, a stage timed out, the board panicked or reset); exit 3.
- CaptureFormatError: a capture file cannot be read; exit 3.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130


class ArmcheckError(Exception):
    """Base of every error armcheck raises on purpose."""

    exit_status = EXIT_INCOMPLETE


class UsageError(ArmcheckError):
    """Bad arguments, profile, target file or input file."""

    exit_status = EXIT_USAGE


class ProfileError(UsageError):
    """A profile that cannot be loaded; the message names the file and line."""


class TargetError(UsageError):
    """A target description that cannot be used; the message names the file or value."""


class InputFormatError(UsageError):
    """An input file that is none of the kinds armcheck reads."""


class ConsoleError(ArmcheckError):
    """The console could not be opened, was lost, or the board misbehaved."""


class ConsoleClosed(ConsoleError):
    """The console reached end of file: the process exited or the port closed."""


class ConsoleTimeout(ConsoleError):
    """An awaited pattern did not appear before its deadline."""


class BoardFault(ConsoleError):
    """A death pattern appeared: a panic, an exception, an assert, or a reset."""


class CaptureFormatError(ArmcheckError):
    """A capture file that cannot be read; the message names the file and line."""
