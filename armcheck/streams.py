"""Stream inputs (a pipe, /dev/stdin, a FIFO, `-`), copied to files while a command reads them.

The input readers open an input more than once: to detect its kind, then to
read it, and `check` also reads a capture's run markers. A second read of a
pipe finds it empty, so each stream input is copied to a temporary file
first. Evidence and error messages name the input as the user gave it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence

from armcheck.errors import ArmcheckError, InputFormatError

COPY_BLOCK_BYTES = 1 << 20

# The copies of stream inputs, mapped to the names the user gave, while
# `spooled_inputs` is open.
SPOOLED: dict[str, str] = {}


@contextlib.contextmanager
def spooled_inputs(paths: Sequence[str]) -> Iterator[list[str]]:
    """Yield `paths` with each stream input replaced by a temporary copy of it."""
    if list(paths).count("-") > 1:
        raise InputFormatError("`-` (standard input) can be given only once")
    with tempfile.TemporaryDirectory(prefix="armcheck-") as folder:
        result = []
        for index, path in enumerate(paths):
            if not is_stream(path):
                result.append(path)
                continue
            # The suffix stays: `check` reads a `.json` input as a facts document.
            copy = os.path.join(folder, f"input-{index}{os.path.splitext(path)[1]}")
            try:
                with open(copy, "wb") as target:
                    if path == "-":
                        shutil.copyfileobj(sys.stdin.buffer, target, COPY_BLOCK_BYTES)
                    else:
                        with open(path, "rb") as source:
                            shutil.copyfileobj(source, target, COPY_BLOCK_BYTES)
            except OSError as err:
                raise InputFormatError(f"cannot read {path}: {err.strerror}") from err
            SPOOLED[copy] = "stdin" if path == "-" else path
            result.append(copy)
        try:
            yield result
        except ArmcheckError as err:
            # The message is printed after the copies are gone: name the inputs now.
            err.args = tuple(shown_names(arg) if isinstance(arg, str) else arg for arg in err.args)
            raise
        finally:
            for copy in result:
                SPOOLED.pop(copy, None)


def is_stream(path: str) -> bool:
    """Tell whether `path` is `-`, a pipe, a FIFO or a socket.

    Raises InputFormatError for a terminal (a serial port), which would be
    read forever: a live console is recorded with `armcheck capture`.
    """
    if path == "-":
        if sys.stdin.isatty():
            raise InputFormatError(
                "`-` reads standard input, which is a terminal here; pipe a log into armcheck "
                "or give a file"
            )
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    if stat.S_ISCHR(mode) and _is_terminal(path):
        raise InputFormatError(
            f"{path} is a terminal or serial port, not a saved log; record its console with "
            f"`armcheck capture {path} -o FILE`, then read FILE"
        )
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _is_terminal(path: str) -> bool:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.isatty(descriptor)
    finally:
        os.close(descriptor)


def display_name(path: str) -> str:
    """Return the name the user gave for `path`, which may be the copy of a stream."""
    return SPOOLED.get(path, path)


def shown_names(text: str) -> str:
    """Return `text` with the paths of stream copies replaced by the names the user gave."""
    for copy, name in SPOOLED.items():
        text = text.replace(copy, name)
    return text
