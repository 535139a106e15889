"""Shared pieces of the line parsers: the parse context and line prefixes.

Console logs reach armcheck with text in front of each line that the board
did not print:

- mail quoting (`> `);
- a host timestamp added by the capturing tool (grabserial's `[seconds
  delta]` and `[HH:MM:SS.ffffff delta]`, `HH:MM:SS.mmm`, ISO 8601 with a
  `T` or a space, moreutils `ts` stamps such as `May 01 10:00:00.360000`);
- a syslog or `journalctl -k` stamp (`Dec  4 20:00:01 host kernel: `);
- a syslog level (`<6>` from `dmesg -r`) or a `dmesg -T` time;
- the printk timestamp (`[    1.234567]`) and caller id (`[    T1]`, `[  C0]`).

`split_prefix` removes them and returns the message with the most precise
time found.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import NamedTuple

from armcheck.facts import Evidence, Facts

log = logging.getLogger(__name__)

# Evidence text longer than this is cut, so one huge line cannot bloat the document.
MAX_EVIDENCE_CHARS = 400

# The host's part of a line prefix, before the console's bytes: mail quoting
# and a host timestamp.
_HOST_PREFIX = r"""
    (?:>[ ]?)*                                              # mail quoting
    (?:\[(?:(?P<grab>\d+\.\d+)|(?P<grabclock>\d\d:\d\d:\d\d\.\d+))
        [ ]+[-+]?\d+\.\d+\][ ]?)?                           # grabserial -t, -T: [time delta]
    (?:
        \[?(?P<clock>\d\d:\d\d:\d\d[.,]\d+)\]?[ ]           # HH:MM:SS.mmm
      | \[?(?P<iso>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?
            (?:Z|[+-]\d\d:?\d\d)?)\]?[ ]                    # ISO 8601
      | (?P<syslog>[A-Z][a-z]{2}[ ]+\d{1,2}[ ]\d\d:\d\d:\d\d)[ ]\S+[ ]kernel:[ ]
                                                            # syslog, journalctl -k
      | (?P<monthday>[A-Z][a-z]{2}[ ]+\d{1,2}[ ]\d\d:\d\d:\d\d(?:[.,]\d+)?)[ ]
                                                            # moreutils ts '%b %d %H:%M:%.S'
    )?
"""
# The host prefix of a line in bytes, for lines that go through terminal emulation.
HOST_PREFIX_BYTES = re.compile(_HOST_PREFIX.encode(), re.VERBOSE)

_PREFIX = re.compile(
    _HOST_PREFIX
    + r"""
    (?:<\d>)?                                               # syslog level
    (?:\[(?P<ctime>[A-Z][a-z]{2}[ ][A-Z][a-z]{2}[ ]+\d{1,2}[ ]\d\d:\d\d:\d\d[ ]\d{4})\][ ]?)?
                                                            # dmesg -T
    (?:\[[ ]*(?P<printk>\d+\.\d+)\])?                       # printk timestamp
    (?:\[[ ]*[TC]\d+\])?                                    # printk caller id
    [ ]?
    """,
    re.VERBOSE,
)

_PRINTK_ONLY = re.compile(r"\[ *(\d+\.\d+)\] ?")


class LogLine(NamedTuple):
    """One console line ready for the parsers.

    `text` is the line as shown on the console, `message` is the text after the
    prefixes described in the module docstring, and `printk` is True when the
    line carried a printk timestamp (so it came from the Linux kernel).
    """

    number: int
    time: float | None
    text: str
    message: str
    printk: bool


class HostClock:
    """Turns host timestamps into seconds since the first host timestamp of one input.

    The scanner splits only the lines that may hold a fact, so a reader calls
    LogParser.start_clock on the input's first lines before it scans.
    """

    def __init__(self) -> None:
        self._zero: float | None = None
        self._last = 0.0

    @property
    def started(self) -> bool:
        return self._zero is not None

    def seconds(self, absolute: float) -> float:
        if self._zero is None:
            self._zero = absolute
        value = absolute - self._zero
        if value < self._last - 43200:
            # A stamp without a date (HH:MM:SS) went past midnight, or one
            # without a month (syslog's day of the month) past a month's end:
            # add the days that bring it just after the previous stamp.
            days = math.ceil((self._last - 43200 - value) / 86400)
            self._zero -= days * 86400
            value += days * 86400
        self._last = value
        return value


def split_prefix(
    text: str, clock: HostClock, arrival: float | None
) -> tuple[str, float | None, bool]:
    """Return the message, its time and whether a printk timestamp was present.

    The time is the host timestamp when there is one, else `arrival` (the
    capture's time of the line), else the printk timestamp.
    """
    if text.startswith("["):
        # The common case, a bare printk timestamp, without the full prefix pattern.
        simple = _PRINTK_ONLY.match(text)
        if simple is not None and not text.startswith(("[", "<"), simple.end()):
            stamp = float(simple.group(1))
            return text[simple.end() :], stamp if arrival is None else arrival, True
    match = _PREFIX.match(text)
    if match is None or match.end() == 0:
        return text, arrival, False
    message = text[match.end() :]
    printk = match.group("printk")
    host = _host_seconds(match, clock)
    if host is not None:
        return message, host, printk is not None
    if arrival is not None:
        return message, arrival, printk is not None
    return message, float(printk) if printk is not None else None, printk is not None


def _host_seconds(match: re.Match[str], clock: HostClock) -> float | None:
    grab = match.group("grab")
    if grab is not None:
        # Seconds since grabserial started; counted from the input's first
        # stamp like the other forms, so that an excerpt starts at 0.
        return clock.seconds(float(grab))
    stamp = match.group("grabclock") or match.group("clock")
    if stamp is not None:
        hours, minutes, seconds = stamp.replace(",", ".").split(":")
        return clock.seconds(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    iso = match.group("iso")
    if iso is not None:
        iso = iso.replace(",", ".").replace("Z", "+00:00")
        if re.search(r"[+-]\d\d\d\d$", iso):
            iso = iso[:-2] + ":" + iso[-2:]
        try:
            return clock.seconds(datetime.fromisoformat(iso).timestamp())
        except ValueError:
            return None
    syslog = match.group("syslog") or match.group("monthday")
    if syslog is not None:
        # Syslog stamps carry no month or year: the day of the month keeps them
        # in order across midnight, and HostClock counts on past a month's end.
        day, clock_time = syslog.split()[1:3]
        hours, minutes, seconds = clock_time.replace(",", ".").split(":")
        return clock.seconds(
            int(day) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        )
    ctime = match.group("ctime")
    if ctime is not None:
        try:
            stamp = datetime.strptime(" ".join(ctime.split()), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return None
        return clock.seconds(stamp.timestamp())
    return None


# Observations kept per key and input. Keys recorded once per line (problem
# lines, banners) stop growing here, so a log of a thousand reboots keeps
# memory bounded. `ParseContext.counts` still counts every line.
MAX_KEPT_PER_KEY = 1000


class ParseContext:
    """The facts being built from one input, and how to cite a line of it."""

    def __init__(self, facts: Facts, file: str | None) -> None:
        self.facts = facts
        self.file = file
        self.counts: dict[str, int] = {}
        # Whether a parser recognised any line of the input, even one whose
        # value an earlier input had recorded already.
        self.recognised = False

    def evidence(self, source: str, line: LogLine) -> Evidence:
        text = line.text
        if len(text) > MAX_EVIDENCE_CHARS:
            text = text[:MAX_EVIDENCE_CHARS] + "..."
        return Evidence(source, self.file, line.number, line.time, text)

    def add(self, key: str, value: object, source: str, line: LogLine) -> None:
        """Record one observation of `key`, unless MAX_KEPT_PER_KEY were recorded already."""
        self.recognised = True
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        if count <= MAX_KEPT_PER_KEY:
            self.facts.add(key, value, self.evidence(source, line))

    def set_once(self, key: str, value: object, source: str, line: LogLine) -> None:
        """Record `key` unless the same value, or MAX_KEPT_PER_KEY values, are recorded already."""
        self.recognised = True
        existing = self.facts.observations.get(key)
        if existing and (
            len(existing) >= MAX_KEPT_PER_KEY or any(obs.value == value for obs in existing)
        ):
            return
        self.facts.add(key, value, self.evidence(source, line))
