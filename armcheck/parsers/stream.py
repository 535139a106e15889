"""Stream console text through the firmware, UEFI shell and Linux parsers.

Speed matters here: a day of console output is hundreds of megabytes, and
most of its lines carry no fact. `scan_blocks` reads the text in blocks and
finds candidate lines with one compiled prefilter regex (`CANDIDATE`), which
runs in C; only those lines are decoded and handed to the parsers. Blocks
that contain terminal controls (escape sequences, a lone carriage return,
backspace) go through `TranscriptBuilder` instead, line by line. While the
UEFI shell parser is inside a command block, or the firmware parser reads the
lines after a banner, every line is handed over.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from armcheck.facts import Facts
from armcheck.parsers import tables_bridge
from armcheck.parsers.base import HostClock, LogLine, ParseContext, split_prefix
from armcheck.parsers.firmware import FirmwareParser
from armcheck.parsers.linux import LinuxParser
from armcheck.parsers.uefi_shell import ShellParser
from armcheck.transcript import MAX_LINE_CHARS, Line, TranscriptBuilder

log = logging.getLogger(__name__)

BLOCK_BYTES = 1 << 20

# Markers at the start of a message: after a line break or after the `] ` of
# a printk timestamp, past any mail quoting and host timestamp.
_MESSAGE_MARKERS = (
    rb"Linux version |Kernel (?:command line|panic)|efi: |EFI (?:stub|services)|Remapping and"
    rb"|Machine model|ACPI|earlycon|printk: (?:legacy )?console|console \[|DMI|SMBIOS"
    rb"|Hardware name|psci: |GIC|ITS |SMP: Total|smp: Brought|Run |WARNING: |PCI ECAM"
    rb"|NOTICE:|BdsDxe:|Shell>|[A-Za-z]+\d+:\\|UEFI|U-Boot|TianoCore|\[Bds\]"
    rb"|Loading (?:PEIM|DXE|driver)|DXE IPL|SecCore|SEC: |PEI: |Press |Hit any key"
    rb"|Version \d|Type +Start"
    rb"|[\w.-]+ login:"
    rb"|(?:[\w.@-]+:)+ tty[A-Za-z]+\d+ at "
    rb"|[\w.@-]+ [\w.:@-]+: (?:registered|rtc core|Initiali[sz]ed|initialized|Watchdog|.*ECAM)"
)
_ANYWHERE_MARKERS = (
    rb"\[Firmware |Internal error: Oops|TianoCore|UEFI (?:firmware|Interactive|v\d)|U-Boot"
    rb"|American Megatrends|Press ESC|Hit any key"
)
CANDIDATE = re.compile(
    rb"(?:\n(?:> ?)*(?:[\d:.,TZ+-]{8,35} )?|\] )(?:" + _MESSAGE_MARKERS + rb")|" + _ANYWHERE_MARKERS
)
# Bytes that need terminal emulation: C0 controls other than tab and line
# feed, DEL, and a carriage return that does not end a line.
_TERMINAL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


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
        self.shell.parse(line)
        self.firmware.parse(line)
        self.linux.parse(line)

    def feed_candidate(self, number: int, text: str, arrival: float | None = None) -> None:
        """Parse a line only when it may hold a fact (or a parser wants every line)."""
        if self.wants_every_line or CANDIDATE.search(b"\n" + text.encode("utf-8", "replace")):
            self.feed(number, text, arrival)

    def finish(self) -> None:
        self.shell.finish()
        self.firmware.finish()

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
    if _TERMINAL.search(block):
        return _scan_terminal_block(parser, block, number)
    # A leading line feed lets CANDIDATE anchor on the first line like on the others.
    block = b"\n" + block
    position = 1
    size = len(block)
    while position < size:
        if parser.wants_every_line:
            end = block.index(b"\n", position)
            number += 1
            parser.feed(number, _clean(block[position:end]))
            position = end + 1
            continue
        match = CANDIDATE.search(block, position - 1)
        if match is None:
            return number + block.count(b"\n", position)
        start = block.rfind(b"\n", 0, match.start() + 1) + 1
        if start < position:
            start = position
        number += block.count(b"\n", position, start)
        end = block.index(b"\n", max(match.end() - 1, start))
        number += 1
        parser.feed(number, _clean(block[start:end]))
        position = end + 1
    return number


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
