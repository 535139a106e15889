"""The one console type every transport returns, driven through pexpect.

A `Transport` moves bytes (a serial port, a socket, a process, a capture being
replayed). A `Console` wraps one transport and adds what armcheck needs on top.
Every read is timestamped on a monotonic clock the moment it returns, written
to the capture, and fed to the transcript. `expect` waits with a monotonic
deadline over a bounded search window. Death patterns end any wait the moment
a panic or exception shows, and `watch_for_reset` does the same for a second
firmware banner.
"""

from __future__ import annotations

import collections
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pexpect
import pexpect.spawnbase

from armcheck import interrupts
from armcheck.capture import SECRET_MASK, CaptureWriter, encode_text
from armcheck.errors import BoardFault, ConsoleClosed, ConsoleTimeout, UsageError
from armcheck.transcript import EscapeFilter, Line, LineSource, TranscriptBuilder

log = logging.getLogger(__name__)

SEARCH_WINDOW = 65536
READ_SIZE = 65536
RECENT_LINES = 20
TAIL_LINE_CHARS = 200
# `Match.before` keeps at most this many characters of text, the most recent.
# pexpect keeps all text since the last match, which grows without bound on a
# board that prints for hours without matching.
BEFORE_LIMIT = 1 << 20


class Transport(ABC):
    """A byte pipe to a board's console."""

    name: str = "console"

    @abstractmethod
    def open(self) -> None:
        """Open the pipe; raise ConsoleError naming the port, URL or command on failure."""

    @abstractmethod
    def read(self, size: int, timeout: float | None) -> bytes:
        """Return what is waiting, up to `size` bytes, as soon as any arrives.

        Return b"" when nothing arrived within `timeout` seconds (None: wait
        forever). Raise ConsoleClosed at end of file.
        """

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the board."""

    @abstractmethod
    def close(self) -> None:
        """Release the pipe; calling it twice is harmless."""


@dataclass(frozen=True)
class DeathPattern:
    """Output that ends every wait at once: the board is no longer doing what was awaited."""

    regex: str
    reason: str


DEFAULT_DEATH_PATTERNS: tuple[DeathPattern, ...] = (
    DeathPattern(r"Kernel panic - not syncing[^\r\n]*", "the Linux kernel panicked"),
    DeathPattern(r"Internal error: Oops[^\r\n]*", "the Linux kernel oopsed"),
    DeathPattern(r"ASSERT [^\r\n]*\(\d+\): [^\r\n]*", "the EDK2 firmware hit an ASSERT"),
    DeathPattern(r"Synchronous Exception at [^\r\n]*", "the firmware took a synchronous exception"),
)


RESET_REASON = "the board reset: its firmware banner appeared a second time"


def _compile(regex: str, kind: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as err:
        raise UsageError(
            f"invalid {kind} {regex!r}: {err}; give a Python regular expression"
        ) from err
    except TypeError as err:
        raise UsageError(f"invalid {kind} {regex!r}: {err}") from err


@dataclass(frozen=True)
class Match:
    """A successful `Console.expect`: the pattern index, the matched text and the text before it."""

    index: int
    pattern: str
    text: str
    before: str
    groups: tuple[str | None, ...]
    time: float
    before_truncated: bool = False


class _Spawn(pexpect.spawnbase.SpawnBase):  # type: ignore[misc]
    """pexpect's expect loop, fed by `Console._read` instead of a file descriptor.

    Two things are added to pexpect: the deadline is monotonic (pexpect's own
    loop uses wall-clock time), and the text kept for `before` is cut to its
    last `before_limit` characters so memory stays bounded.
    """

    _before: Any  # pexpect's buffer of the text since the last match

    def __init__(self, console: Console, search_window: int, before_limit: int) -> None:
        super().__init__(
            timeout=None,
            maxread=READ_SIZE,
            searchwindowsize=search_window,
            encoding="utf-8",
            codec_errors="replace",
        )
        self.console = console
        self.delaybeforesend = None
        self.delayafterread = None
        # After a cut, `before` must still hold the whole search window
        # (pexpect cuts the match out of its end) and room for one more read.
        self.before_limit = max(before_limit, 2 * (search_window + READ_SIZE))
        self.before_truncated = False
        self.deadline: float | None = None
        self.closed_reason = ""
        self._filter = EscapeFilter()

    def read_nonblocking(self, size: int = 1, timeout: float | None = None) -> str:
        while True:
            wait = timeout
            if self.deadline is not None:
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    raise pexpect.TIMEOUT("deadline passed")
                wait = remaining if wait is None else min(wait, remaining)
            try:
                data = self.console._read(size, wait)
            except ConsoleClosed as err:
                self.flag_eof = True
                self.closed_reason = str(err)
                raise pexpect.EOF(str(err)) from err
            if data:
                break
            # A read may return early with nothing (an interrupted select);
            # only the deadline ends an expect.
            if self.deadline is None:
                raise pexpect.TIMEOUT("nothing arrived")
        text = self._filter.filter(self._decoder.decode(data, final=False))
        self._limit_before(len(text))
        return text

    def _limit_before(self, incoming: int) -> None:
        """Cut `before` so that it stays within the limit once `incoming` characters are added."""
        # Cut to half the limit, so the copy happens once per limit/2 characters.
        if self._before.tell() + incoming <= self.before_limit:
            return
        tail = self._before.getvalue()[-(self.before_limit // 2) :]
        self._before = self.buffer_type()
        self._before.write(tail)
        self.before_truncated = True


class Console:
    """A board's console: timed, captured, with expect/send and death patterns."""

    def __init__(
        self,
        transport: Transport,
        capture: CaptureWriter | None = None,
        *,
        search_window: int = SEARCH_WINDOW,
        char_delay: float = 0.0,
        death_patterns: Sequence[DeathPattern] = DEFAULT_DEATH_PATTERNS,
        before_limit: int = BEFORE_LIMIT,
    ) -> None:
        if not char_delay >= 0:
            raise UsageError(
                f"invalid character delay {char_delay!r}: give 0 or more seconds, such as 0.01"
            )
        if search_window < 1:
            raise UsageError(f"invalid search window {search_window!r}: give 1 or more characters")
        self.transport = transport
        self.capture = capture
        self.start = capture.start if capture is not None else time.monotonic()
        self.char_delay = char_delay
        self.death_patterns: list[DeathPattern] = list(death_patterns)
        self.transcript: LineSource = TranscriptBuilder()
        self.recent: collections.deque[Line] = collections.deque(maxlen=RECENT_LINES)
        self.bytes_read = 0
        # Texts sent with secret=True: masked in every console text armcheck
        # shows or returns (error tails, matches), as the capture masks them.
        self.secrets: set[str] = set()
        self.closed = False
        self._reset_banner: re.Pattern[str] | None = None
        self._reset_since = 0.0
        self._reset_reason = ""
        self._spawn = _Spawn(self, search_window, before_limit)

    @property
    def name(self) -> str:
        return self.transport.name

    @property
    def before_limit(self) -> int:
        """The maximum length of `Match.before` in characters: 2 x (window + read size) or more."""
        return self._spawn.before_limit

    def now(self) -> float:
        """Seconds since time zero of the run."""
        return time.monotonic() - self.start

    def open(self) -> None:
        log.info("opening console %s", self.name)
        self.transport.open()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.transport.close()
        for line in self.transcript.finish(self.now()):
            self.recent.append(line)
        log.info("closed console %s after %d bytes", self.name, self.bytes_read)

    def __enter__(self) -> Console:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mark(self, label: str) -> None:
        """Record the start of a phase armcheck drives, in the capture."""
        log.info("phase %s at %.3f s", label, self.now())
        if self.capture is not None:
            self.capture.mark(label, self.now())

    def add_death_pattern(self, regex: str, reason: str) -> None:
        """End every later wait with BoardFault(reason) when `regex` matches the console text."""
        _compile(regex, "death pattern")
        self.death_patterns.append(DeathPattern(regex, reason))

    def watch_for_reset(self, banner: str | None, reason: str = RESET_REASON) -> None:
        """Treat a transcript line matching `banner` that arrives from now on as a reset.

        Call it once the firmware banner of this boot has been seen: a second
        banner means the board reset on its own, and the next read raises
        BoardFault(reason). The watch ends when it fires; `None` ends it at once.
        Unlike death patterns, it looks only at lines whose first byte arrived
        after the call, so the banner already seen never triggers it, even when
        the call comes before that banner's line has ended.
        """
        self._reset_banner = None if banner is None else _compile(banner, "reset banner")
        self._reset_since = self.now()
        self._reset_reason = reason

    def expect(
        self,
        patterns: str | Sequence[str],
        timeout: float,
        what: str | None = None,
    ) -> Match:
        """Wait until one of the regular expressions matches the console text.

        The text has escape sequences removed (a cursor move to another row
        reads as a newline). Raise ConsoleTimeout after `timeout` seconds,
        measured on the monotonic clock, ConsoleClosed at end of file, and
        BoardFault when a death pattern matches first or a watched reset
        banner appears. A pattern that is not a valid regular expression
        raises UsageError.
        """
        wanted = [patterns] if isinstance(patterns, str) else list(patterns)
        description = what or " or ".join(repr(p) for p in wanted)
        compiled = [_compile(p, "pattern") for p in wanted]
        compiled += [_compile(d.regex, "death pattern") for d in self.death_patterns]
        log.debug("expecting %s for up to %.1f s", description, timeout)
        started = time.monotonic()
        self._spawn.deadline = started + max(0.0, timeout)
        self._spawn.before_truncated = False
        try:
            # No pexpect timeout: its loop counts wall-clock time, so the
            # monotonic deadline in _Spawn.read_nonblocking ends the wait.
            index = self._spawn.expect_list(compiled + [pexpect.EOF, pexpect.TIMEOUT], timeout=None)
        except BoardFault as err:
            raise BoardFault(f"{err} while waiting for {description}{self._tail()}") from err
        except OSError as err:
            raise ConsoleClosed(
                f"console {self.name} failed while waiting for {description}: {err}"
            ) from err
        finally:
            self._spawn.deadline = None
        if index == len(compiled):
            reason = self._spawn.closed_reason or f"console {self.name} closed"
            raise ConsoleClosed(f"{reason} while waiting for {description}{self._tail()}")
        if index == len(compiled) + 1:
            waited = time.monotonic() - started
            log.info("timed out after %.1f s waiting for %s", waited, description)
            raise ConsoleTimeout(
                f"timed out after {waited:.1f} s waiting for {description} "
                f"on {self.name}{self._tail()}"
            )
        match = self._spawn.match
        if index >= len(wanted):
            death = self.death_patterns[index - len(wanted)]
            raise BoardFault(
                f"{death.reason} while waiting for {description}: "
                f"{self.mask(match.group(0).strip())!r}{self._tail()}"
            )
        text = self.mask(match.group(0))
        log.debug("matched %r after %.3f s", text, time.monotonic() - started)
        return Match(
            index,
            wanted[index],
            text,
            self.mask(self._spawn.before or ""),
            match.groups(),
            self.now(),
            self._spawn.before_truncated,
        )

    def send(self, text: str | bytes, secret: bool = False) -> None:
        """Send text (or raw bytes) to the board, recorded in the capture as input.

        With `secret`, the capture records a mask instead, and the text is
        masked wherever it shows up later in the capture (an echoing shell).
        """
        data = text.encode() if isinstance(text, str) else text
        if secret:
            log.debug("sending a secret (%d characters, not logged)", len(data))
            if data:
                self.secrets.add(encode_text(data))
            if self.capture is not None:
                self.capture.add_secret(encode_text(data))
        else:
            log.debug("sending %r", data)
        if self.capture is not None:
            self.capture.input(data, self.now(), secret=secret)
        if self.char_delay > 0:
            for index in range(len(data)):
                self.transport.write(data[index : index + 1])
                time.sleep(self.char_delay)
        else:
            self.transport.write(data)

    def sendline(self, text: str = "", secret: bool = False) -> None:
        """Send text followed by a carriage return, the Enter key of a serial terminal."""
        if secret:
            self.send(text, secret=True)
            self.send("\r")
        else:
            self.send(text + "\r")

    def send_key(self, name: str) -> None:
        """Send a named key (ESC, ENTER, F1-F12, UP, DOWN, LEFT, RIGHT, CTRL-X, ...)."""
        from armcheck.console.keys import key_bytes

        self.send(key_bytes(name))

    def drain(self, timeout: float) -> None:
        """Read and record whatever arrives during `timeout` seconds, without matching.

        Raise ConsoleClosed, with the last lines seen, if the console closes first.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                self._read(READ_SIZE, remaining)
            except ConsoleClosed as err:
                raise ConsoleClosed(f"{err}{self._tail()}") from err

    def read(self, timeout: float | None) -> bytes:
        """Read, record and return what arrives within `timeout` seconds, without matching.

        For a terminal that shows the board to a person; the bytes read here
        are not searched by a later `expect`.
        """
        return self._read(READ_SIZE, timeout)

    def _read(self, size: int, timeout: float | None) -> bytes:
        # A Ctrl-C that Python dropped while a subprocess started is raised here.
        interrupts.check()
        data = self.transport.read(size, timeout)
        if not data:
            return b""
        at = self.now()
        self.bytes_read += len(data)
        if self.capture is not None:
            self.capture.output(data, at)
        lines = self.transcript.feed(data, at)
        self.recent.extend(lines)
        if self._reset_banner is not None:
            self._check_reset(lines)
        return data

    def _check_reset(self, lines: list[Line]) -> None:
        assert self._reset_banner is not None
        for line in lines:
            if line.time < self._reset_since:
                continue
            if self._reset_banner.search(line.text):
                self._reset_banner = None
                raise BoardFault(
                    f"{self._reset_reason}: line {line.number} at {line.time:.3f} s "
                    f"reads {self.mask(line.text.strip())!r}"
                )

    def recent_lines(self) -> list[str]:
        lines = [self.mask(line.text) for line in self.recent]
        partial = self.transcript.partial
        if partial:
            lines.append(self.mask(partial))
        return lines[-RECENT_LINES:]

    def mask(self, text: str) -> str:
        """Return `text` with every secret sent so far replaced by the capture's mask."""
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return text

    def _tail(self) -> str:
        lines = self.recent_lines()[-10:]
        if not lines:
            return "; nothing was received"
        # A line of console noise can be megabytes long: show its start only.
        cut = [
            line
            if len(line) <= TAIL_LINE_CHARS
            else f"{line[:TAIL_LINE_CHARS]}... ({len(line)} characters)"
            for line in lines
        ]
        return "; last lines seen:\n" + "\n".join(f"  | {line}" for line in cut)
