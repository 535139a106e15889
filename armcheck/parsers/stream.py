"""Stream console text through the firmware, UEFI shell and Linux parsers.

Speed matters here: a day of console output is hundreds of megabytes, and
most of its lines carry no fact. `scan_blocks` reads the text in blocks and
finds candidate lines with the compiled patterns of armcheck/parsers/prefilter.py,
which run in C; only those lines are decoded and handed to the parsers.
Lines that contain terminal controls (escape sequences, a lone carriage
return, backspace, NUL) go through `TranscriptBuilder` instead. While the
UEFI shell parser is inside a command block, or the firmware parser reads
the lines after a banner, every line is handed over.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from armcheck.facts import Facts
from armcheck.parsers import tables_bridge
from armcheck.parsers.base import (
    HOST_PREFIX_BYTES,
    HostClock,
    LogLine,
    ParseContext,
    split_prefix,
)
from armcheck.parsers.firmware import FirmwareParser
from armcheck.parsers.linux import LinuxParser
from armcheck.parsers.prefilter import PATTERNS, RESET_BANNER_PATTERN, is_candidate
from armcheck.parsers.uefi_shell import BLOCK_BREAKS, RawLines, ShellParser
from armcheck.transcript import MAX_LINE_CHARS, Line, TranscriptBuilder

log = logging.getLogger(__name__)

BLOCK_BYTES = 1 << 20

# Bytes that need terminal emulation: escape sequences, NUL, backspace, and a
# carriage return that does not end a line. Other C0 controls are left in the
# text; the parsers ignore them.
_TERMINAL_BYTES = (b"\x1b", b"\x00", b"\x08")
# First characters of lines that carry no prefix (see parsers/base.py): a
# line prefix starts with `>`, `[`, `<`, a digit or a month name (syslog).
_NO_PREFIX_STARTS = frozenset(" \tBCEGHIKLPQRTUVWXYZabcdefghijklmnopqrstuvwxyz")
# First characters of a line prefix besides digits and a syslog stamp's month.
_PREFIX_MARKS = frozenset("<>[")
_LONE_CARRIAGE_RETURN = re.compile(rb"\r(?!\n)")
# First bytes of a host prefix (base.HOST_PREFIX_BYTES): mail quoting, a
# bracket, a digit, or the capital of a syslog stamp's month. Most lines
# with controls start with ESC, so the pattern is not tried on them.
_HOST_PREFIX_STARTS = frozenset(bytes([byte]) for byte in b">[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# A firmware banner in a kernel message's line: only the unambiguous forms,
# an EDK2 banner or U-Boot with a release number (`U-Boot 2023.07 (...)`).
_RESET_BANNER = re.compile(r"UEFI firmware \(version .* built at |U-Boot(?: [STV]PL)? \d{4}\.\d\d")
_CSI = re.compile(rb"\x1b\[([0-9;?=>]*)([@-~])")
# A bare printk timestamp, as base._PRINTK_ONLY matches it in text.
_PRINTK_STAMP = re.compile(rb"\[ *\d+\.\d+\] ?")
# A line that LogParser.feed_block_output must give to split_prefix: it starts
# with `<`, `>`, `[` or a digit, or with three characters and a space where the
# first may start a syslog month (see _NO_PREFIX_STARTS). Searched from the
# line feed before a run.
_NEEDS_PREFIX = re.compile(rb"\n(?:[<>\[0-9\x80-\xff]|[^ \tBCEGHIKLPQRTUVWXYZa-z\n][^\n]{2} )")


class LogParser:
    """Feeds console lines of one input to every line parser and finishes them."""

    def __init__(self, facts: Facts, file: str | None) -> None:
        self.ctx = ParseContext(facts, file)
        self.clock = HostClock()
        self.firmware = FirmwareParser(self.ctx)
        self.shell = ShellParser(self.ctx, self._shell_tables)
        self.linux = LinuxParser(self.ctx)

    def start_clock(self, text: str) -> None:
        """Take the first host timestamp among the whole lines of `text` as time zero."""
        for line in text.split("\n")[:-1]:
            split_prefix(line.rstrip("\r "), self.clock, None)
            if self.clock.started:
                return

    @property
    def wants_every_line(self) -> bool:
        return self.shell.in_block or self.firmware.following > 0

    def feed(self, number: int, text: str, arrival: float | None = None) -> None:
        """Parse one clean console line; `arrival` is its capture time, when known."""
        if text[:1] in _NO_PREFIX_STARTS:
            # No line prefix starts with a space or a letter: skip the prefix pattern.
            line = LogLine(number, arrival, text, text, False)
            printk = False
        else:
            message, time, printk = split_prefix(text, self.clock, arrival)
            if printk and message in self.linux.repeats:
                return
            line = LogLine(number, time, text, message, printk)
        if self.shell.in_block:
            # Output of a shell command: no other parser reads it.
            self.shell.parse(line)
            if self.shell.in_block:
                return
            self.firmware.parse(line)
            self.linux.parse(line)
            return
        if not printk:
            # Firmware and the UEFI shell print no printk timestamps.
            self.shell.parse(line)
            self.firmware.parse(line)
        elif ("UEFI firmware (version" in text or "U-Boot" in text) and _RESET_BANNER.search(text):
            # A reset cut a kernel message short, and the firmware went on in its line.
            self.firmware.parse(line)
        self.linux.parse(line)

    def feed_block_output(self, number: int, texts: list[str]) -> None:
        """Parse clean lines numbered from `number` that all belong to the open shell block.

        Gives the same result as `feed` line by line, provided that no text
        contains one of uefi_shell.BLOCK_BREAKS and that there are at most
        `shell.block_room` texts.
        """
        lines: list[LogLine] = []
        append = lines.append
        # tuple.__new__ builds each LogLine without the call through its
        # generated __new__. A dump has many lines, so this loop sets the cost of a run.
        new_line = tuple.__new__
        for line_number, text in enumerate(texts, number):
            first = text[:1]
            if first in _NO_PREFIX_STARTS or (
                # Besides `<`, `>`, `[` and digits, only a syslog stamp
                # (`Dec  4 ...`) starts a prefix, and its fourth character is a space.
                first and first not in _PREFIX_MARKS and not first.isdecimal() and text[3:4] != " "
            ):
                append(new_line(LogLine, (line_number, None, text, text, False)))
                continue
            message, time, printk = split_prefix(text, self.clock, None)
            if not (printk and message in self.linux.repeats):
                append(LogLine(line_number, time, text, message, printk))
        self.shell.add_block_lines(lines)

    def feed_candidate(self, number: int, text: str, arrival: float | None = None) -> None:
        """Parse a line only when it may hold a fact (or a parser wants every line)."""
        if self.wants_every_line or is_candidate(text):
            self.feed(number, text, arrival)

    def finish(self) -> None:
        self.shell.finish()
        self.firmware.finish()
        self.linux.finish()

    def _shell_tables(self, kind: str, lines: list[LogLine]) -> None:
        tables_bridge.shell_block(kind, lines, self.ctx)


def scan_blocks(blocks: Iterable[bytes], parser: LogParser) -> int:
    """Parse a text stream given as byte blocks; return the number of lines read.

    The blocks may split lines anywhere. A line longer than MAX_LINE_CHARS is
    read in pieces of that size, which all carry the line's number, so memory
    stays bounded by the block size plus MAX_LINE_CHARS.
    """
    number = 0
    carry = b""
    long_line = False  # pieces of the current line were parsed already
    for chunk in blocks:
        # The carry holds no line feed, so the block's last one is in `chunk`.
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            carry = carry + chunk if carry else chunk
            while len(carry) > MAX_LINE_CHARS:
                if not long_line:
                    number += 1
                    long_line = True
                _parse_piece(parser, number, carry[:MAX_LINE_CHARS])
                carry = carry[MAX_LINE_CHARS:]
            continue
        if long_line:
            # The block's first line ends the long line and keeps its number.
            number -= 1
            long_line = False
        # One copy builds the block: a leading line feed lets the prefilter
        # anchor on the first line like on the others.
        block = b"".join((b"\n", carry, memoryview(chunk)[:cut]))
        carry = chunk[cut:]
        number = _scan_block(parser, block, number)
    if carry:
        if not long_line:
            number += 1
        _parse_piece(parser, number, carry)
    parser.finish()
    return number


def _parse_piece(parser: LogParser, number: int, data: bytes) -> None:
    for line in _terminal_lines(data, number):
        parser.feed_candidate(number, line.text)


def _terminal_lines(data: bytes, number: int) -> list[Line]:
    builder = TranscriptBuilder(first_line_number=number)
    return builder.feed(data, 0.0) + builder.finish(0.0)


def _scan_block(parser: LogParser, block: bytes, number: int) -> int:
    """Parse one block that starts and ends with a line feed; return the last line number.

    The leading line feed is not part of the text: it ends the line before.

    Lines with terminal controls go through TranscriptBuilder one by one. When
    a cursor move cuts such a line into pieces, every piece keeps the line's
    number, so that evidence points at the line of the file.
    """
    size = len(block)
    dirty_set = _terminal_line_starts(block)
    dirty = sorted(dirty_set)
    candidates = _Candidates(block, dirty)
    shell = parser.shell
    firmware = parser.firmware
    position = 1
    while position < size:
        if shell.command is not None and position not in dirty_set:
            # A run stops before a line with terminal controls, so such a line starts none.
            end, number = _scan_shell_output(parser, block, position, dirty, number)
            if end > position:
                position = end
                continue
        if shell.command is not None or firmware.following:
            # A parser wants every line (see LogParser.wants_every_line).
            start = position
        else:
            start = candidates.next(position)
            if start < 0:
                break
            number += block.count(b"\n", position, start)
        end = block.index(b"\n", start)
        number += 1
        if end - start > MAX_LINE_CHARS and start not in dirty_set:
            for offset in range(start, end, MAX_LINE_CHARS):
                parser.feed_candidate(
                    number, _clean(block[offset : min(end, offset + MAX_LINE_CHARS)])
                )
        elif start in dirty_set:
            # The host's prefix (a timestamp) is not console output: only the
            # bytes after it go through terminal emulation. A line that differs
            # from others only in its timestamp then hits _strip_csi's cache.
            data = block[start:end]
            host = 0
            if data[:1] in _HOST_PREFIX_STARTS:
                match = HOST_PREFIX_BYTES.match(data)
                host = match.end() if match else 0
            head = data[:host].decode("latin-1")
            text = _strip_csi(data[host:])
            if text is not None:
                parser.feed_candidate(number, head + text)
            else:
                for line in _terminal_lines(data[host:], number):
                    parser.feed_candidate(number, head + line.text)
        else:
            data = block[start:end]
            if data[:1] != b"[" or not _is_repeated_printk(data, parser.linux.repeated_bytes):
                parser.feed(number, _clean(data))
        position = end + 1
    return number + block.count(b"\n", position)


def _is_repeated_printk(data: bytes, repeated: set[bytes]) -> bool:
    """Tell whether `data` is a printk line whose message LogParser.feed would skip as a repeat.

    This is the test of `feed` done on the bytes, before the line is decoded
    and split: a bare printk timestamp (no caller id), then a message in
    `repeated`, the UTF-8 form of LinuxParser.repeats.
    """
    stamp = _PRINTK_STAMP.match(data)
    if stamp is None:
        return False
    message = data[stamp.end() :].rstrip(b"\r ")
    return message[:1] not in (b"[", b"<") and message in repeated


UNSEARCHED = -2


class _Candidates:
    """The lines of a block worth parsing, found one by one as the scan reaches them.

    A line is a candidate when a prefilter pattern matches in it or when it
    contains terminal controls (`dirty`, sorted line starts). Each pattern is
    searched only past the position the scan reached, so the runs of shell
    output that _scan_shell_output takes whole are not searched.
    """

    def __init__(self, block: bytes, dirty: list[int]) -> None:
        self.block = block
        self.dirty = dirty
        # The line start of each pattern's next match: -1 when it has none
        # left, UNSEARCHED before the first search.
        self.found = [UNSEARCHED] * len(PATTERNS)

    def next(self, position: int) -> int:
        """Return the start of the first candidate line at or after `position`, or -1."""
        block = self.block
        best = -1
        for index, pattern in enumerate(PATTERNS):
            found = self.found[index]
            if found == UNSEARCHED or 0 <= found < position:
                # The line feed before `position` is where the line-start pattern anchors.
                match = pattern.search(block, position - 1)
                found = block.rfind(b"\n", 0, match.start() + 1) + 1 if match else -1
                self.found[index] = found
            if found >= 0 and (best < 0 or found < best):
                best = found
        index = bisect.bisect_left(self.dirty, position)
        if index < len(self.dirty) and (best < 0 or self.dirty[index] < best):
            best = self.dirty[index]
        return best


def _scan_shell_output(
    parser: LogParser, block: bytes, position: int, dirty: list[int], number: int
) -> tuple[int, int]:
    """Hand the lines from `position` on that can only join the open shell block over at once.

    The run of lines stops before the first line with terminal controls or
    with a text of BLOCK_BREAKS (a prompt may close the block), at the
    block's line limit, and within MAX_LINE_CHARS bytes. So no line of a run
    is longer than MAX_LINE_CHARS, and each search below is bounded. The
    lines after a run go through the loop of `_scan_block`. Returns the
    offset after the run and the number of its last line. An empty run
    returns `position` unchanged.
    """
    stop = len(block)
    index = bisect.bisect_left(dirty, position)
    if index < len(dirty):
        stop = dirty[index]
    if stop - position > MAX_LINE_CHARS:
        stop = block.rfind(b"\n", position, position + MAX_LINE_CHARS) + 1
        if stop <= position:
            # The line at `position` alone is MAX_LINE_CHARS bytes or longer.
            return position, number
    for text in BLOCK_BREAKS:
        found = block.find(text, position, stop)
        if found >= 0:
            stop = block.rfind(b"\n", 0, found) + 1
    room = parser.shell.block_room
    if block.count(b"\n", position, stop) > room:
        kept = block[position:stop].split(b"\n", room)[:room]
        stop = position + sum(map(len, kept)) + len(kept)
    if stop == position:
        return position, number

    data = block[position:stop]
    count = data.count(b"\n")
    if not _NEEDS_PREFIX.search(block, position - 1, stop) and block[position - 1] == 10:
        # No line has a prefix to split: keep the bytes, and build lines only
        # if the block is read (a repeat of a block read before is not).
        parser.shell.add_block_lines(RawLines(number + 1, data, count, _plain_lines))
        return stop, number + count
    parser.feed_block_output(number + 1, _texts(data))
    return stop, number + count


def _texts(data: bytes) -> list[str]:
    """Return the clean lines of `data`, which ends with a line feed."""
    try:
        texts = [text.rstrip("\r ") for text in data.decode("utf-8").split("\n")]
        texts.pop()
    except UnicodeDecodeError:
        texts = [_clean(raw) for raw in data.split(b"\n")[:-1]]
    return texts


def _plain_lines(number: int, data: bytes) -> list[LogLine]:
    """Build the LogLines of lines without prefixes, numbered from `number`."""
    new_line = tuple.__new__
    return [
        new_line(LogLine, (line_number, None, text, text, False))
        for line_number, text in enumerate(_texts(data), number)
    ]


def _terminal_line_starts(block: bytes) -> set[int]:
    """Return the offsets of the lines of `block` that need the careful path.

    These are the lines that hold terminal controls, and those with a
    firmware banner behind other text (prefilter.RESET_BANNERS).
    """
    starts = set()
    # One regex pass (two find() loops took twice as long).
    for banner in RESET_BANNER_PATTERN.finditer(block):
        start = block.rfind(b"\n", 0, banner.start()) + 1
        if banner.start() > start:
            starts.add(start)
    # One find() per control byte runs at memchr speed. A regex character
    # class took twice as long here (CPython 3.11, a 20 MB benchmark log).
    for byte in _TERMINAL_BYTES:
        found = block.find(byte)
        while found >= 0:
            starts.add(block.rfind(b"\n", 0, found) + 1)
            found = block.find(byte, block.index(b"\n", found) + 1)
    # One regex pass costs less than the two counts that could rule it out
    # (`\r` and `\r\n`), since the substring count is the slower of them.
    match = _LONE_CARRIAGE_RETURN.search(block)
    while match is not None:
        starts.add(block.rfind(b"\n", 0, match.start()) + 1)
        match = _LONE_CARRIAGE_RETURN.search(block, block.index(b"\n", match.start()) + 1)
    return starts


# Shell lines repeat (the same prompt echo in every session of a long log),
# and the result depends on the bytes alone.
@functools.lru_cache(maxsize=4096)
def _strip_csi(data: bytes) -> str | None:
    """Return the text of a line whose only controls are harmless CSI sequences, or None.

    This is the common shape of UEFI shell output: a cursor move to the start
    of the row, colour changes, then text, where the shell echoes each typed
    character after a cursor move to the column it is at already. Such a line
    reads the same with the sequences deleted. A line with any other cursor
    move returns None and goes to TranscriptBuilder.
    """
    if b"\r" in data.rstrip(b"\r") or b"\x00" in data or b"\x08" in data:
        return None
    # split() gives text, parameters, final byte, text, parameters, final byte, ..., text.
    parts = _CSI.split(data)
    texts = parts[0::3]
    row = column = None
    seen = len(texts[0])
    for index in range(1, len(parts), 3):
        final = parts[index + 1]
        if final == b"H" or final == b"f":
            target = _cursor_position(parts[index])
            if seen and (row is None or target != (row, column)):
                return None
            row, column = target
        elif final == b"J" and not seen:
            row = column = None
        elif final not in b"mnhl":
            return None
        length = len(parts[index + 2])
        seen += length
        if column is not None:
            column += length
    line = b"".join(texts)
    if b"\x1b" in line:
        return None
    return _clean(line)


def _cursor_position(params: bytes) -> tuple[int, int]:
    fields = params.split(b";")
    row = int(fields[0]) if fields[0].isdigit() else 1
    column = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 1
    return row, column


def _clean(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS]
    return text.rstrip("\r ")


def read_blocks(file: BinaryIO, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Yield blocks of a binary file object until its end."""
    while True:
        chunk = file.read(size)
        if not chunk:
            return
        yield chunk
