"""The capture file: every console byte with its arrival time, as asciicast v2.

A capture is an asciicast v2 file (one JSON header line, then one JSON array
per event), so `asciinema play` and asciinema-player can show it. armcheck
keeps it lossless with three rules:

- Output events (`"o"`) hold the bytes of one console read decoded as UTF-8
  with the `surrogateescape` error handler. A byte that is not valid UTF-8
  becomes a lone surrogate (U+DC80..U+DCFF), which JSON writes as a `\\udcXX`
  escape. Encoding the text back with `surrogateescape` gives the exact bytes,
  NULs and all. Players show such bytes as replacement characters.
- Input events (`"i"`) hold what armcheck sent; a secret is written as
  `SECRET_MASK`, never as itself.
- Marker events (`"m"`, as asciinema 2.3 writes them) name the phases armcheck
  drove, such as `power-on` or `uefi-shell`.

Times are seconds since time zero of the run (the power-on, or the attach when
armcheck only watches), from a monotonic clock, rounded to microseconds. The
header carries an `armcheck` object with the target, the wall-clock start time
and the armcheck version.

Every event is written with one `write` and flushed, so a process killed at any
moment leaves a file whose complete lines all parse; the reader accepts a
truncated last line.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from armcheck import __version__
from armcheck.errors import CaptureFormatError

log = logging.getLogger(__name__)

OUTPUT = "o"
INPUT = "i"
MARKER = "m"
SECRET_MASK = "********"
# (path, line) of truncated last events already warned about.
_WARNED_TRUNCATED: set[tuple[str, int]] = set()
CAPTURE_WIDTH = 100
CAPTURE_HEIGHT = 31


def encode_text(data: bytes) -> str:
    """Decode console bytes into the lossless text stored in an event."""
    return data.decode("utf-8", "surrogateescape")


def decode_text(text: str) -> bytes:
    """Turn the text of an event back into the exact console bytes."""
    return text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Event:
    """One capture event: `time` in seconds since time zero, `kind` o/i/m."""

    time: float
    kind: str
    text: str
    line: int = 0

    @property
    def data(self) -> bytes:
        return decode_text(self.text)


@dataclass
class CaptureHeader:
    """The header line: asciicast fields plus armcheck's own."""

    target: str = ""
    started: str = ""
    armcheck_version: str = __version__
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        started = self.started or datetime.now(timezone.utc).isoformat(timespec="microseconds")
        wall = datetime.fromisoformat(started)
        return {
            "version": 2,
            "width": CAPTURE_WIDTH,
            "height": CAPTURE_HEIGHT,
            "timestamp": int(wall.timestamp()),
            "title": self.title or f"armcheck capture of {self.target}",
            "env": {"TERM": "vt100"},
            "armcheck": {
                "version": self.armcheck_version,
                "target": self.target,
                "started": started,
                "text": "utf-8+surrogateescape",
                **self.extra,
            },
        }

    @classmethod
    def from_json(cls, header: dict[str, Any]) -> CaptureHeader:
        own = dict(header.get("armcheck") or {})
        target = str(own.pop("target", ""))
        started = str(own.pop("started", ""))
        version = str(own.pop("version", ""))
        own.pop("text", None)
        if not started and "timestamp" in header:
            started = datetime.fromtimestamp(header["timestamp"], timezone.utc).isoformat()
        return cls(target, started, version, str(header.get("title", "")), own)


class CaptureWriter:
    """Append events to a capture file as they happen, flushed one by one.

    `start` is the monotonic time of time zero; events given without a time are
    stamped with `time.monotonic() - start`. Strings in `secrets` are masked in
    input and output events.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        target: str = "",
        start: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.start = time.monotonic() if start is None else start
        self.secrets: set[str] = set()
        # The end of the last output when it may start a secret, as when a board
        # echoes a password one character at a time. It is written with the
        # next output, masked, or on its own before any other event.
        self._withheld = ""
        self._withheld_at: float | None = None
        self.header = CaptureHeader(target=target, extra=dict(extra or {}))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._file: IO[str] | None = open(self.path, "w", encoding="ascii", newline="\n")
        except OSError as err:
            raise CaptureFormatError(f"cannot create capture {self.path}: {err.strerror}") from err
        self._write_line(json.dumps(self.header.to_json()))

    def now(self) -> float:
        return time.monotonic() - self.start

    def add_secret(self, secret: str) -> None:
        if secret:
            self.secrets.add(secret)

    def output(self, data: bytes, at: float | None = None) -> None:
        if not data:
            return
        stamp = self.now() if at is None else at
        text = encode_text(data)
        if self._withheld:
            # The withheld text arrived first, so the event takes its time.
            text = self._withheld + text
            if self._withheld_at is not None:
                stamp = self._withheld_at
            self._withheld, self._withheld_at = "", None
        if self.secrets:
            text = self._mask(text)
            keep = self._secret_start(text)
            if keep:
                self._withheld, self._withheld_at, text = text[-keep:], stamp, text[:-keep]
        if text:
            self._event(stamp, OUTPUT, text)

    def input(self, data: bytes | str, at: float | None = None, secret: bool = False) -> None:
        text = data if isinstance(data, str) else encode_text(data)
        if secret:
            text = SECRET_MASK
        self._flush_withheld()
        self._event(at, INPUT, self._mask(text))

    def mark(self, label: str, at: float | None = None) -> None:
        self._flush_withheld()
        self._event(at, MARKER, label)

    def close(self) -> None:
        if self._file is not None:
            self._flush_withheld()
            self._file.close()
            self._file = None

    def _secret_start(self, text: str) -> int:
        """Return the length of the longest end of `text` that starts a secret, else 0."""
        longest = 0
        for secret in self.secrets:
            for length in range(min(len(secret) - 1, len(text)), longest, -1):
                if text.endswith(secret[:length]):
                    longest = length
                    break
        return longest

    def _flush_withheld(self) -> None:
        if self._withheld:
            text, at = self._withheld, self._withheld_at
            self._withheld, self._withheld_at = "", None
            self._event(at, OUTPUT, text)

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return text

    def _event(self, at: float | None, kind: str, text: str) -> None:
        stamp = self.now() if at is None else at
        self._write_line(json.dumps([round(stamp, 6), kind, text]))

    def _write_line(self, line: str) -> None:
        if self._file is None:
            raise CaptureFormatError(f"capture {self.path} is already closed")
        self._file.write(line + "\n")
        self._file.flush()


@dataclass
class Capture:
    """A capture read back: its header and all its events."""

    path: Path
    header: CaptureHeader
    events: list[Event]
    truncated: bool = False

    def output_events(self) -> list[Event]:
        return [event for event in self.events if event.kind == OUTPUT]

    def output_bytes(self) -> bytes:
        return b"".join(event.data for event in self.events if event.kind == OUTPUT)

    def markers(self) -> list[Event]:
        return [event for event in self.events if event.kind == MARKER]


def is_capture(path: str | os.PathLike[str]) -> bool:
    """Tell whether a file starts with an asciicast v2 header."""
    try:
        with open(path, "rb") as file:
            first = file.readline(65536)
        header = json.loads(first)
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("version") == 2 and "width" in header


def read_header(path: Path, file: IO[bytes]) -> CaptureHeader:
    first = file.readline()
    try:
        header = json.loads(first)
    except ValueError as err:
        raise CaptureFormatError(
            f"{path}:1: not an asciicast v2 capture (the header line is not JSON: {err})"
        ) from err
    if not isinstance(header, dict) or header.get("version") != 2:
        raise CaptureFormatError(f'{path}:1: not an asciicast v2 capture (no "version": 2)')
    return CaptureHeader.from_json(header)


def read_capture_header(path: str | os.PathLike[str]) -> CaptureHeader:
    """Read only the header line of a capture."""
    path = Path(path)
    with _open_capture(path) as file:
        return read_header(path, file)


def iter_events(path: str | os.PathLike[str]) -> Iterator[Event]:
    """Yield the events of a capture one by one, without reading the whole file into memory.

    A last line cut short (the writer was killed mid-write) is skipped with a
    warning. A bad line anywhere else raises CaptureFormatError naming the line.
    """
    path = Path(path)
    with _open_capture(path) as file:
        read_header(path, file)
        yield from _read_events(path, file)


def _open_capture(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as err:
        raise CaptureFormatError(f"cannot read capture {path}: {err.strerror}") from err


def _read_events(path: Path, file: IO[bytes]) -> Iterator[Event]:
    """Yield the events after the header, skipping blank lines and a truncated last line."""
    number = 1
    for raw in file:
        number += 1
        if not raw.strip():
            continue
        event = _parse_event(path, number, raw, last=not raw.endswith(b"\n"))
        if event is not None:
            yield event


def _parse_event(path: Path, number: int, raw: bytes, last: bool) -> Event | None:
    try:
        stamp, kind, text = json.loads(raw)
        if not isinstance(text, str) or not isinstance(kind, str):
            raise ValueError("event must be [time, kind, text]")
        return Event(float(stamp), kind, text, number)
    except (ValueError, TypeError) as err:
        if last:
            # Warned once per file and line, though `check` reads a capture twice.
            if (str(path), number) not in _WARNED_TRUNCATED:
                _WARNED_TRUNCATED.add((str(path), number))
                log.warning("%s:%d: skipped a truncated last event", path, number)
            return None
        raise CaptureFormatError(f"{path}:{number}: invalid capture event ({err})") from err


def read_capture(path: str | os.PathLike[str]) -> Capture:
    """Read a whole capture into memory."""
    path = Path(path)
    with _open_capture(path) as file:
        header = read_header(path, file)
        events = list(_read_events(path, file))
        # A file whose last byte is not a newline was cut short while being
        # written. The header parsed, so the file is not empty.
        file.seek(-1, os.SEEK_END)
        truncated = file.read(1) != b"\n"
    return Capture(path, header, events, truncated)
