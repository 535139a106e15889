"""Terminal output to clean text lines, each with its number and arrival time.

Firmware consoles are terminals, not text files: the UEFI shell colours its
prompt and redraws the screen with cursor-positioning sequences, boot managers
count down by rewriting one line after a lone carriage return, and serial
lines drop or corrupt bytes. `TranscriptBuilder` turns that stream into the
lines a person would read on the screen:

- escape sequences (CSI, OSC, DCS and two- or three-byte ESC forms) are
  removed, also when a read splits them;
- a cursor move to another row (CSI H/f with a row, CSI B/E/d) ends the line;
- `\\r\\n`, `\\n\\r` and `\\n` end a line, a lone `\\r` returns to column 0 so that
  later text overwrites the line, and backspace moves one column left;
- NUL and the other C0 controls except tab are dropped;
- bytes that are not UTF-8 become U+FFFD (the capture keeps the raw bytes);
- a line longer than MAX_LINE_CHARS is cut into pieces so memory stays flat.

Each line keeps the arrival time of its first byte (`time`) and of the byte
that ended it (`end`), in seconds since time zero.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

MAX_LINE_CHARS = 65536

# Characters that end a run of text handled by _write_lines: C0 controls
# other than tab, newline and carriage return, and DEL. ESC is among them.
_SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The first character after a CSI's parameter and intermediate bytes: a final
# byte (0x40-0x7E) ends the sequence; anything else (a line feed from a
# corrupted line) cancels it and is processed as text.
_CSI_FINAL = re.compile(r"[^\x20-\x3f]")
_CSI_SEQUENCE = re.compile(r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]")


@dataclass(frozen=True, init=False)
class Line:
    """One clean transcript line. `number` counts from 1."""

    number: int
    time: float
    text: str
    end: float

    def __init__(self, number: int, time: float, text: str, end: float) -> None:
        # Filling __dict__ directly takes about half the time of the frozen
        # dataclass's generated __init__, which shows at 250,000 lines per
        # second. Assigning an attribute later still raises FrozenInstanceError.
        fields = self.__dict__
        fields["number"] = number
        fields["time"] = time
        fields["text"] = text
        fields["end"] = end

    def to_json(self) -> dict[str, object]:
        return {"line": self.number, "time": round(self.time, 6), "text": self.text}


class LineSource(Protocol):
    """A converter of console reads into transcript lines: a TranscriptBuilder or a wrapper."""

    def feed(self, data: bytes, at: float) -> list[Line]: ...

    def finish(self, at: float | None = None) -> list[Line]: ...

    @property
    def partial(self) -> str: ...


class TranscriptBuilder:
    """Incremental terminal-to-lines converter; feed it reads as they arrive."""

    def __init__(self, first_line_number: int = 1) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._number = first_line_number
        self._parts: list[str] = []
        self._length = 0
        self._column = 0
        self._start: float | None = None
        self._row: int | None = None
        self._pending_cr = False
        self._after_newline = False
        self._escape = ""  # an unfinished escape sequence carried to the next read
        self._lines: list[Line] = []

    def feed(self, data: bytes, at: float) -> list[Line]:
        """Take one read of console bytes that arrived at `at`; return the lines it completed."""
        text = self._decoder.decode(data)
        if text:
            self._feed_text(text, at)
        return self._take()

    def finish(self, at: float | None = None) -> list[Line]:
        """Flush the decoder and the unfinished last line (end of input)."""
        text = self._decoder.decode(b"", final=True)
        stamp = at if at is not None else (self._start or 0.0)
        if text:
            self._feed_text(text, stamp)
        self._escape = ""
        if self._pending_cr:
            self._pending_cr = False
        if self._length or self._parts:
            self._end_line(stamp)
        return self._take()

    @property
    def partial(self) -> str:
        """The text of the line not yet ended."""
        return "".join(self._parts)

    def _take(self) -> list[Line]:
        lines, self._lines = self._lines, []
        return lines

    def _feed_text(self, text: str, at: float) -> None:
        position = 0
        if self._escape:
            position = self._continue_escape(text, 0)
            if self._escape:
                return
        length = len(text)
        while position < length:
            special = _SPECIAL.search(text, position)
            stop = special.start() if special else length
            if stop > position:
                self._write_lines(text[position:stop], at)
            if special is None:
                return
            position = self._control(text, stop, at)

    def _write_lines(self, run: str, at: float) -> None:
        """Take text whose only controls are tab, `\\n` and `\\r`.

        This is the fast path: plain boot logs are almost all such text, so
        the lines in the middle of a run are built in one pass. A line that
        contains a lone `\\r` (a countdown) goes through `_write_returns`.
        """
        if "\n" not in run:
            self._write_returns(run, at)
            return
        if "\r" in run:
            # "\r\n" ends a line exactly as "\n" does.
            run = run.replace("\r\n", "\n")
        pieces = run.split("\n")
        if self._row is not None:
            self._row += len(pieces) - 1

        # The first piece ends the line already in progress, whatever its state.
        self._write_returns(pieces[0], at)
        self._pending_cr = False
        self._end_line(at)

        middle = pieces[1:-1]
        if middle and (max(map(len, middle)) > MAX_LINE_CHARS or "\r" in run):
            for piece in middle:
                self._after_newline = True
                self._write_returns(piece, at)
                self._pending_cr = False
                self._end_line(at)
        elif middle:
            first = self._number
            self._number += len(middle)
            self._lines.extend(
                [
                    Line(number, at, piece.rstrip(" "), at)
                    for number, piece in zip(range(first, self._number), middle)
                ]
            )
        self._last_at = at

        self._after_newline = True
        self._write_returns(pieces[-1], at)

    def _write_returns(self, text: str, at: float) -> None:
        """Write text of one line in which a `\\r` returns the cursor to column 0."""
        if "\r" not in text:
            if text:
                self._write(text, at)
            return
        segments = text.split("\r")
        if segments[0]:
            self._write(segments[0], at)
        for segment in segments[1:]:
            if self._after_newline:
                # "\n\r": the carriage return belongs to the line break already taken.
                self._after_newline = False
            else:
                self._pending_cr = True
            if segment:
                self._write(segment, at)

    def _control(self, text: str, index: int, at: float) -> int:
        """Handle the _SPECIAL character at `index`; return where the text resumes."""
        char = text[index]
        if self._pending_cr:
            self._pending_cr = False
            self._column = 0
        self._after_newline = False
        if char == "\x08":
            self._column = max(0, self._column - 1)
            return index + 1
        if char == "\x1b":
            # A CSI sequence complete in this read is handled here at once;
            # colour changes (final byte "m") do not move the cursor.
            csi = _CSI_SEQUENCE.match(text, index)
            if csi is not None:
                if text[csi.end() - 1] != "m":
                    self._csi(csi.group())
                return csi.end()
            self._escape = "\x1b"
            return self._continue_escape(text, index + 1)
        # NUL, BEL, DEL and the other C0 controls leave no trace on the screen.
        return index + 1

    def _continue_escape(self, text: str, position: int) -> int:
        """Consume an escape sequence started in `self._escape`; return where text resumes."""
        sequence = self._escape
        length = len(text)
        if len(sequence) == 1:
            if position >= length:
                return position
            sequence += text[position]
            position += 1
        introducer = sequence[1]
        if introducer == "[":
            match = _CSI_FINAL.search(text, position)
            if match is None:
                self._escape = _hold(sequence + text[position:])
                return length
            if not "\x40" <= match.group() <= "\x7e":
                self._escape = ""
                return match.start()
            sequence += text[position : match.end()]
            self._escape = ""
            self._csi(sequence)
            return match.end()
        if introducer in "]PX^_":
            # OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
            end = _string_terminator(text, position)
            if sequence.endswith("\x1b") and text.startswith("\\", position):
                end = position + 1  # the ST was split between two reads
            if end < 0:
                self._escape = _hold(sequence + text[position:])
                return length
            self._escape = ""
            return end
        if introducer in "()*+#%":
            if position >= length:
                self._escape = sequence
                return position
            self._escape = ""
            return position + 1
        self._escape = ""
        if introducer in "DE":
            self._break_row()
        return position

    def _csi(self, sequence: str) -> None:
        final = sequence[-1]
        params = sequence[2:-1]
        if final in "Hf":
            row = _first_number(params, 1)
            same_row = row == self._row
            if not same_row:
                # A move to another row, or to a row when the current one is unknown.
                self._break_row()
            self._row = row
            self._column = max(0, _second_number(params, 1) - 1) if same_row else 0
        elif final in "BEd":
            if final == "d":
                row = _first_number(params, 1)
                if row == self._row:
                    return
                self._row = row
            self._break_row()
        elif final == "G":
            self._column = max(0, _first_number(params, 1) - 1)
        elif final == "C":
            self._column += max(1, _first_number(params, 1))
        elif final == "D":
            self._column = max(0, self._column - max(1, _first_number(params, 1)))
        elif final == "J" and _first_number(params, 0) == 2:
            self._break_row()
            self._row = 1

    def _break_row(self) -> None:
        if self._length or self._parts:
            self._end_line(self._last_at)
        self._column = 0

    def _write(self, run: str, at: float) -> None:
        if self._pending_cr:
            self._pending_cr = False
            self._column = 0
        self._after_newline = False
        if self._start is None:
            self._start = at
        self._last_at = at
        if self._column == self._length:
            self._parts.append(run)
            self._length += len(run)
        else:
            current = "".join(self._parts)
            if self._column > self._length:
                current += " " * (self._column - self._length)
            current = current[: self._column] + run + current[self._column + len(run) :]
            self._parts = [current]
            self._length = len(current)
        self._column += len(run)
        if self._length > MAX_LINE_CHARS:
            self._split_long_line(at)

    def _split_long_line(self, at: float) -> None:
        current = "".join(self._parts)
        offset = 0
        while len(current) - offset > MAX_LINE_CHARS:
            piece = current[offset : offset + MAX_LINE_CHARS]
            self._emit(piece, self._start if self._start is not None else at, at)
            self._start = at
            offset += MAX_LINE_CHARS
        current = current[offset:]
        self._parts = [current] if current else []
        self._length = len(current)
        self._column = self._length

    _last_at = 0.0

    def _end_line(self, at: float) -> None:
        start = self._start if self._start is not None else at
        self._emit("".join(self._parts), start, at)
        self._parts = []
        self._length = 0
        self._column = 0
        self._start = None

    def _emit(self, text: str, start: float, end: float) -> None:
        self._lines.append(Line(self._number, start, text.rstrip(" "), end))
        self._number += 1


def _hold(sequence: str) -> str:
    """Keep an unfinished escape sequence for the next read: its introducer and its tail."""
    return sequence if len(sequence) <= 64 else sequence[:2] + sequence[-62:]


def _string_terminator(text: str, position: int) -> int:
    bel = text.find("\x07", position)
    st = text.find("\x1b\\", position)
    # A line feed also ends the string (and stays as text), so that one
    # corrupted ESC ] cannot swallow the rest of a log.
    line_feed = text.find("\n", position)
    candidates = [i + 1 for i in (bel,) if i >= 0] + [i + 2 for i in (st,) if i >= 0]
    candidates += [line_feed] if line_feed >= 0 else []
    return min(candidates) if candidates else -1


def _first_number(params: str, default: int) -> int:
    head = params.lstrip("?").split(";", 1)[0]
    return int(head) if head.isdigit() else default


def _second_number(params: str, default: int) -> int:
    fields = params.split(";")
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else default


def lines_from_chunks(chunks: Iterable[tuple[bytes, float]]) -> Iterator[Line]:
    """Turn (bytes, arrival time) reads into transcript lines, streaming."""
    builder = TranscriptBuilder()
    last = 0.0
    for data, at in chunks:
        last = at
        yield from builder.feed(data, at)
    yield from builder.finish(last)


def lines_from_bytes(data: bytes) -> list[Line]:
    """Turn one block of console bytes into lines, all at time zero."""
    return list(lines_from_chunks([(data, 0.0)]))


_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)|[()*+#%].|[^\[\]PX^_()*+#%])"
)
_CURSOR_ROW = re.compile(r"\x1b\[([0-9]*)(?:;[0-9]*)?[Hf]|\x1b\[([0-9]*)d")
_NEXT_ROW = re.compile(r"\x1b\[(?:[0-9]*[BE]|2J)")


class EscapeFilter:
    """Strip escape sequences from a text stream that arrives in pieces.

    Used for matching prompts. A cursor move to another row becomes `\\n`, but a
    move within the current row (the UEFI shell echoes each typed character
    that way) disappears like the other sequences and NULs. Everything else,
    `\\r` included, is kept. A sequence split across pieces is held back until
    it is complete.
    """

    def __init__(self) -> None:
        self._held = ""
        self._row: int | None = None

    def filter(self, text: str) -> str:
        if self._held:
            text = self._held + text
            self._held = ""
        cut = text.rfind("\x1b")
        if cut >= 0 and _ESCAPE.match(text, cut) is None and len(text) - cut < 64:
            text, self._held = text[:cut], text[cut:]
        if "\x1b" in text:
            text = _ESCAPE.sub(self._replace_escape, text)
        if "\x00" in text:
            text = text.replace("\x00", "")
        return text

    def _replace_escape(self, match: re.Match[str]) -> str:
        sequence = match.group()
        row_move = _CURSOR_ROW.fullmatch(sequence)
        if row_move is not None:
            digits = row_move.group(1) if row_move.group(1) is not None else row_move.group(2)
            row = int(digits) if digits else 1
            moved = row != self._row
            self._row = row
            return "\n" if moved else ""
        if _NEXT_ROW.fullmatch(sequence):
            self._row = None
            return "\n"
        return ""
