"""Boot events and stage spans of one boot (one pass), from a capture.

An event is the arrival time of the first byte of the transcript line that
matched a marker. Time zero is the capture's `power-on` marker when it has
one, else the capture start. The top-level stages are consecutive:

    reset      power-on      -> first byte of console output
    firmware   first byte    -> loader start (kernel start when no loader line)
    loader     loader start  -> kernel start
    kernel     kernel start  -> init start
    userspace  init start    -> userspace ready

A stage whose end marker is missing ends at the next boundary that was seen.
When the boot never reached userspace ready or shutdown, the last stage ends
at the last byte of the capture and is flagged `open`.

Nested spans sit inside them. A firmware milestone lasts until the next
milestone or boundary. A phase that armcheck drove (a capture marker such as
`uefi-shell`) lasts until the next capture marker or boundary. A wait (a
countdown) lasts from its first countdown line until the output moves on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from armcheck import session
from armcheck.capture import INPUT, Capture, read_capture
from armcheck.timing.markers import (
    INIT,
    KERNEL,
    LOADER,
    MILESTONE,
    READY,
    SHUTDOWN,
    WAIT,
    Marker,
)
from armcheck.transcript import EscapeFilter, Line, lines_from_chunks

log = logging.getLogger(__name__)

POWER_ON = session.POWER_ON
# The markers of `armcheck run` that record a point in time rather than start a phase.
POINT_MARKERS = (session.RUN_START, session.COMPLETE, session.INTERRUPTED)
POINT_MARKER_PREFIXES = (
    session.COMMAND_PREFIX,
    session.ERROR_PREFIX.strip(),
    session.NOT_PLANNED_PREFIX.strip(),
    session.COLLECTION_FAILED_PREFIX.strip(),
)
STAGE_NAMES = ("reset", "firmware", "loader", "kernel", "userspace")

# Span kinds.
STAGE = "stage"
PHASE = "phase"
MILESTONE_SPAN = "milestone"
WAIT_SPAN = "wait"

# A Linux printk timestamp at the start of a line: "[    1.234567] ...".
PRINTK = re.compile(r"^\[\s*(\d+\.\d+)\]")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class BootEvent:
    """A marker match: the marker, its role, and the line that matched it."""

    name: str
    role: str
    time: float
    line: int | None = None
    text: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "time": round(self.time, 6),
            "line": self.line,
            "text": self.text,
        }


@dataclass
class Span:
    """One stage or nested span of one pass, in seconds since time zero."""

    name: str
    kind: str
    start: float
    end: float
    parent: str | None = None
    line: int | None = None
    open: bool = False
    announced: int | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class PrintkLine:
    """A kernel log line: its printk timestamp and its host arrival time."""

    line: int
    kernel_time: float
    host_time: float


@dataclass
class PassTiming:
    """Everything timed in one boot: events, spans and the printk lines."""

    source: str
    events: list[BootEvent] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    printk: list[PrintkLine] = field(default_factory=list)
    total: float = 0.0
    complete: bool = False
    last_byte: float = 0.0

    def span(self, name: str) -> Span | None:
        return next((span for span in self.spans if span.name == name), None)

    def stages(self) -> list[Span]:
        return [span for span in self.spans if span.kind == STAGE]


def analyse_capture(capture: Capture | str | Path, markers: list[Marker]) -> PassTiming:
    """Find the boot events and spans in a capture (a Capture or a path to one)."""
    if not isinstance(capture, Capture):
        capture = read_capture(capture)
    zero = next((m.time for m in capture.markers() if m.text == POWER_ON), 0.0)
    # Output before the power-on belongs to what the board did before armcheck powered it.
    outputs = [event for event in capture.output_events() if event.data and event.time >= zero]
    chunks = [(event.data, event.time - zero) for event in outputs]
    lines = list(lines_from_chunks(chunks))
    phases = _unique_names(
        [(m.text, m.time - zero) for m in capture.markers() if is_phase_marker(m.text)]
    )
    first_byte = chunks[0][1] if chunks else None
    last_byte = chunks[-1][1] if chunks else 0.0
    typed = [event.text.strip() for event in capture.events if event.kind == INPUT]
    timing = analyse_lines(lines, markers, first_byte, last_byte, phases, str(capture.path), typed)
    _announce_waits(timing, chunks)
    return timing


def _unique_names(phases: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Number repeated phase names (`uefi-shell`, `uefi-shell-2`) so each is its own span."""
    counts: dict[str, int] = {}
    named = []
    for name, at in phases:
        counts[name] = counts.get(name, 0) + 1
        named.append((name if counts[name] == 1 else f"{name}-{counts[name]}", at))
    return named


def is_phase_marker(label: str) -> bool:
    """Tell whether a capture marker starts a phase armcheck drove, timed as a nested span.

    Power-on is time zero, and a marker named like a top-level stage repeats
    it. The markers of `armcheck run` that record a point rather than start a
    phase (`run`, `complete`, `interrupted`, `error: ...`, `not planned: ...`)
    and the `command SHELL: TEXT` markers inside a shell session are not
    phases either.
    """
    if label == POWER_ON or label in STAGE_NAMES or label in POINT_MARKERS:
        return False
    return not label.startswith(POINT_MARKER_PREFIXES)


def analyse_lines(
    lines: list[Line],
    markers: list[Marker],
    first_byte: float | None,
    last_byte: float,
    phases: list[tuple[str, float]] | None = None,
    source: str = "",
    typed: list[str] | None = None,
) -> PassTiming:
    """Find events and build the spans of one pass from its transcript lines.

    `typed` lists the lines armcheck sent. A prompt line ends with the echo of
    the command typed at it, so a ready marker is also tried on the line
    without that echo.
    """
    timing = PassTiming(source=source, last_byte=last_byte)
    if first_byte is None:
        log.warning("%s: no console output, so no boot stage can be timed", source or "capture")
        return timing

    boundaries = _find_boundaries(lines, markers, [text for text in typed or [] if text])
    timing.events.append(BootEvent(POWER_ON, "power-on", 0.0))
    timing.events.append(BootEvent("first-byte", "firmware", first_byte))
    timing.events.extend(boundaries.values())

    firmware_end = _first_time(boundaries, (LOADER, KERNEL, INIT, READY, SHUTDOWN))
    milestones = _find_milestones(lines, markers, firmware_end)
    timing.events.extend(milestones)
    timing.events.sort(key=lambda event: event.time)

    _add_stages(timing, first_byte, boundaries, last_byte)
    parents = timing.stages()
    marks = sorted([event.time for event in boundaries.values()] + [first_byte])
    _add_chained_spans(timing, milestones, marks, parents, MILESTONE_SPAN)
    phase_events = [BootEvent(name, PHASE, at) for name, at in (phases or [])]
    _add_chained_spans(timing, phase_events, marks, parents, PHASE)
    _add_waits(timing, lines, markers, parents)
    # Kernel lines after the boot finished are mostly command output (dmesg), not the boot log.
    timing.printk = [line for line in _printk_lines(lines) if line.host_time <= timing.total]
    return timing


def _find_boundaries(
    lines: list[Line], markers: list[Marker], typed: list[str]
) -> dict[str, BootEvent]:
    """Find loader, kernel, init, ready and shutdown events, each after the previous one.

    The kernel start is searched first; the loader start is the first loader
    line before it. Init is searched after the kernel start, ready after
    whatever boundary came last, and shutdown after ready.
    """
    found: dict[str, BootEvent] = {}
    kernel = _first_match(lines, markers, KERNEL, 0)
    loader_limit = kernel[0] if kernel else len(lines)
    loader = _first_match(lines[:loader_limit], markers, LOADER, 0)
    after = 0
    for role, match in ((LOADER, loader), (KERNEL, kernel)):
        if match is not None:
            found[role] = match[1]
            after = max(after, match[0] + 1)
    init = _first_match(lines, markers, INIT, after) if kernel else None
    if init is not None:
        found[INIT] = init[1]
        after = init[0] + 1
    ready = _first_match(lines, markers, READY, after, typed)
    if ready is not None:
        found[READY] = ready[1]
        after = ready[0] + 1
    shutdown = _first_match(lines, markers, SHUTDOWN, after)
    if shutdown is not None:
        found[SHUTDOWN] = shutdown[1]
    return found


def _first_match(
    lines: list[Line],
    markers: list[Marker],
    role: str,
    start: int,
    typed: list[str] | None = None,
) -> tuple[int, BootEvent] | None:
    candidates = [marker for marker in markers if marker.role == role]
    if not candidates:
        return None
    for index in range(start, len(lines)):
        line = lines[index]
        texts = [line.text] + _without_echo(line.text, typed or [])
        for marker in candidates:
            if any(marker.regex.search(text) for text in texts):
                return index, BootEvent(marker.name, role, line.time, line.number, line.text)
    return None


def _without_echo(text: str, typed: list[str]) -> list[str]:
    """Return `text` without the echo of a typed command at its end.

    The echo may be cut where the terminal wrapped the line, so the end of
    `text` only has to be the start of a typed command.
    """
    found = []
    for command in typed:
        start = text.find(command[0])
        while start >= 0:
            if command.startswith(text[start:]):
                found.append(text[:start].rstrip())
                break
            start = text.find(command[0], start + 1)
    return found


def _find_milestones(
    lines: list[Line], markers: list[Marker], until: float | None
) -> list[BootEvent]:
    """Return the first line of each milestone marker, before the firmware stage ends."""
    events: list[BootEvent] = []
    for marker in (m for m in markers if m.role == MILESTONE):
        for line in lines:
            if until is not None and line.time >= until:
                break
            if marker.regex.search(line.text):
                events.append(BootEvent(marker.name, MILESTONE, line.time, line.number, line.text))
                break
    events.sort(key=lambda event: (event.time, event.line or 0))
    return events


def _first_time(found: dict[str, BootEvent], roles: tuple[str, ...]) -> float | None:
    times = [found[role].time for role in roles if role in found]
    return min(times) if times else None


def _add_stages(
    timing: PassTiming, first_byte: float, found: dict[str, BootEvent], last_byte: float
) -> None:
    starts: list[tuple[str, float, int | None]] = [("reset", 0.0, None)]
    starts.append(("firmware", first_byte, None))
    for role, name in ((LOADER, "loader"), (KERNEL, "kernel"), (INIT, "userspace")):
        if role in found:
            starts.append((name, found[role].time, found[role].line))

    finish = found.get(READY) or found.get(SHUTDOWN)
    timing.complete = finish is not None
    timing.total = finish.time if finish is not None else last_byte
    for index, (name, start, line) in enumerate(starts):
        if index + 1 < len(starts):
            end, is_open = starts[index + 1][1], False
        else:
            end, is_open = timing.total, finish is None
        if end < start:
            log.warning(
                "%s: stage %s ends at %.6f s before it starts at %.6f s; skipped",
                timing.source,
                name,
                end,
                start,
            )
            continue
        timing.spans.append(Span(name, STAGE, start, end, None, line, open=is_open))


def _parent_of(at: float, parents: list[Span]) -> Span | None:
    """Return the top-level stage running at `at`; None after the boot finished."""
    for span in parents:
        if span.start <= at < span.end:
            return span
    last = parents[-1] if parents else None
    if last is not None and last.open and at >= last.start:
        return last
    return None


def _add_chained_spans(
    timing: PassTiming,
    events: list[BootEvent],
    boundaries: list[float],
    parents: list[Span],
    kind: str,
) -> None:
    """Add one span per event, ending at the next event of the chain or the next boundary.

    Events that arrived in the same read share a time; they keep their line
    order, and each one ends where the next one starts.
    """
    ordered = sorted(events, key=lambda event: (event.time, event.line or 0))
    for index, event in enumerate(ordered):
        parent = _parent_of(event.time, parents)
        if parent is None:
            continue
        later = [t for t in boundaries if t > event.time]
        if index + 1 < len(ordered):
            later.append(ordered[index + 1].time)
        end = min(later) if later else parent.end
        end = min(end, parent.end)
        is_open = parent.open and end >= parent.end
        timing.spans.append(
            Span(event.name, kind, event.time, end, parent.name, event.line, open=is_open)
        )


def _add_waits(
    timing: PassTiming, lines: list[Line], markers: list[Marker], parents: list[Span]
) -> None:
    """Add a span per countdown: from its first line to the first line that moves on."""
    waits = [marker for marker in markers if marker.role == WAIT]
    counts: dict[str, int] = {}
    index = 0
    while index < len(lines):
        marker = _matching(waits, lines[index].text)
        if marker is None:
            index += 1
            continue
        first = lines[index]
        index += 1
        while index < len(lines) and marker.regex.search(lines[index].text):
            index += 1
        end = lines[index].time if index < len(lines) else lines[index - 1].end
        counts[marker.name] = counts.get(marker.name, 0) + 1
        name = marker.name if counts[marker.name] == 1 else f"{marker.name}-{counts[marker.name]}"
        parent = _parent_of(first.time, parents)
        if parent is None:
            continue
        timing.spans.append(
            Span(
                name,
                WAIT_SPAN,
                first.time,
                end,
                parent.name,
                first.number,
                open=index >= len(lines) and not timing.complete,
            )
        )
        timing.events.append(BootEvent(name, WAIT, first.time, first.number, first.text))
    timing.events.sort(key=lambda event: event.time)


def _matching(markers: list[Marker], text: str) -> Marker | None:
    return next((marker for marker in markers if marker.regex.search(text)), None)


def _announce_waits(timing: PassTiming, chunks: list[tuple[bytes, float]]) -> None:
    """Set each wait's announced seconds: the largest count printed during it.

    A countdown rewrites its number in place, so the transcript line contains
    only the last count. The raw output between the wait's start and end contains all.
    """
    waits = [span for span in timing.spans if span.kind == WAIT_SPAN]
    if not waits:
        return
    screen = EscapeFilter()
    texts = [(screen.filter(data.decode("utf-8", "replace")), at) for data, at in chunks]
    for span in waits:
        text = "".join(piece for piece, at in texts if span.start <= at <= span.end)
        counts = [int(number) for number in _NUMBER.findall(_countdown_text(text))]
        span.announced = max(counts) if counts else None


_COUNT = re.compile(
    r"(?:in +(\d+) +seconds?|autoboot: *(\d+)|automatically in +(\d+) *s|^\s*(\d+)\s*$)",
    re.MULTILINE,
)


def _countdown_text(text: str) -> str:
    """Return the count numbers found in countdown phrases, joined by spaces."""
    numbers: list[str] = []
    for match in _COUNT.finditer(text.replace("\x08", "\n")):
        numbers.extend(group for group in match.groups() if group)
    return " ".join(numbers)


def _printk_lines(lines: list[Line]) -> list[PrintkLine]:
    found = []
    for line in lines:
        match = PRINTK.match(line.text)
        if match:
            found.append(PrintkLine(line.number, float(match.group(1)), line.time))
    return found
