"""Stream console text through the firmware, UEFI shell and Linux parsers.

Speed matters here: a day of console output is hundreds of megabytes, and
most of its lines carry no fact. `scan_blocks` reads the text in blocks and
finds candidate lines with one compiled prefilter regex (armcheck/parsers/prefilter.py), which
runs in C; only those lines are decoded and handed to the parsers. Blocks
that contain terminal controls (escape sequences, a lone carriage return,
backspace) go through `TranscriptBuilder` instead, line by line. While the
UEFI shell parser is inside a command block, or the firmware parser reads the
lines after a banner, every line is handed over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from armcheck.facts import Facts
from armcheck.parsers import tables_bridge
from armcheck.parsers.base import HostClock, LogLine, ParseContext, split_prefix
from armcheck.parsers.firmware import FirmwareParser
from armcheck.parsers.linux import LinuxParser
from armcheck.parsers.prefilter import candidate_starts, is_candidate
from armcheck.parsers.uefi_shell import ShellParser
from armcheck.transcript import MAX_LINE_CHARS, Line, TranscriptBuilder

log = logging.getLogger(__name__)

BLOCK_BYTES = 1 << 20

# Bytes that need terminal emulation: escape sequences, NUL, backspace, and a
# carriage return that does not end a line. Other C0 controls are left in the
# text; the parsers ignore them.
_TERMINAL_BYTES = (b"\x1b", b"\x00", b"\x08")


class LogParser:
    """Feeds console lines of one input to every line parser and finishes them."""

    def __init__(self, facts: Facts, file: str | None) -> None:
        self.ctx = ParseContext(facts, file)
        self.clock = HostClock()
        self.firmware = FirmwareParser(self.ctx)
        self.shell = ShellParser(self.ctx, self._shell_tables)
        self.linux = LinuxParser(self.ctx)
        self.lines = 0

    @property
    def wants_every_line(self) -> bool:
        return self.shell.in_block or self.firmware.following > 0

    def feed(self, number: int, text: str, arrival: float | None = None) -> None:
        """Parse one clean console line; `arrival` is its capture time, when known."""
        message, time, printk = split_prefix(text, self.clock, arrival)
        line = LogLine(number, time, text, message, printk)
        if not printk:
            # Firmware and the UEFI shell print no printk timestamps.
            self.shell.parse(line)
            self.firmware.parse(line)
        self.linux.parse(line)

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


def decode_line(data: bytes) -> str:
    """Decode one console line: UTF-8, or Latin-1 when it is not valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def scan_blocks(blocks: Iterable[bytes], parser: LogParser) -> int:
    """Parse a text stream given as byte blocks; return the number of lines read.

    The blocks may split lines anywhere. Memory stays bounded by the block
    size plus MAX_LINE_CHARS, because a line longer than that is cut into
    pieces, as TranscriptBuilder cuts it.
    """
    number = 0
    carry = b""
    for chunk in blocks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            while len(carry) > MAX_LINE_CHARS:
                number += 1
                _parse_piece(parser, number, carry[:MAX_LINE_CHARS])
                carry = carry[MAX_LINE_CHARS:]
            continue
        carry = data[cut:]
        number = _scan_block(parser, data[:cut], number)
    if carry:
        number += 1
        _parse_piece(parser, number, carry)
    parser.finish()
    return number


def _parse_piece(parser: LogParser, number: int, data: bytes) -> None:
    for line in _terminal_lines(data, number):
        parser.feed_candidate(line.number, line.text)


def _terminal_lines(data: bytes, number: int) -> list[Line]:
    builder = TranscriptBuilder(first_line_number=number)
    return builder.feed(data, 0.0) + builder.finish(0.0)


def _scan_block(parser: LogParser, block: bytes, number: int) -> int:
    """Parse one block that ends with a line feed; return the last line number."""
    if _needs_terminal(block):
        return _scan_terminal_block(parser, block, number)
    # A leading line feed lets the prefilter anchor on the first line like on the others.
    block = b"\n" + block
    size = len(block)
    candidates = iter(candidate_starts(block))
    position = 1
    while position < size:
        if not parser.wants_every_line:
            start = next(candidates, size)
            if start < position:
                continue
            number += block.count(b"\n", position, start)
            position = start
            if position >= size:
                break
        end = block.index(b"\n", position)
        number += 1
        parser.feed(number, _clean(block[position:end]))
        position = end + 1
    return number


def _needs_terminal(block: bytes) -> bool:
    # Single-byte find() runs at memchr speed, much faster than a regex scan.
    if any(block.find(byte) >= 0 for byte in _TERMINAL_BYTES):
        return True
    return block.find(b"\r") >= 0 and block.count(b"\r") != block.count(b"\r\n")


def _clean(data: bytes) -> str:
    text = decode_line(data)
    if text.endswith("\r"):
        text = text[:-1]
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS]
    return text.rstrip(" ")


def _scan_terminal_block(parser: LogParser, block: bytes, number: int) -> int:
    builder = TranscriptBuilder(first_line_number=number + 1)
    lines = builder.feed(block, 0.0) + builder.finish(0.0)
    for line in lines:
        parser.feed_candidate(line.number, line.text)
    return lines[-1].number if lines else number


def read_blocks(file: object, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Yield blocks of a binary file object until its end."""
    read = file.read
    while True:
        chunk = read(size)
        if not chunk:
            return
        yield chunk
