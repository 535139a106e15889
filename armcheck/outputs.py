"""Writing the report files a user names on the command line."""

from __future__ import annotations

import os
from pathlib import Path

from armcheck.errors import UsageError


def write_output_file(path: str | os.PathLike[str], text: str, kind: str) -> Path:
    """Write `text` to `path` as UTF-8, creating its folder; return the path.

    Raise UsageError naming the file and the system's reason when it cannot be
    written, so that a bad report path exits with status 2, not a traceback.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(
            f"cannot write {kind} file {path}: {err.strerror}; give a path in a writable folder"
        ) from err
    return path
