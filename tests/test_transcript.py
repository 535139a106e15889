"""Transcript: terminal bytes to clean lines, however the reads are split."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from armcheck.transcript import (
    MAX_LINE_CHARS,
    EscapeFilter,
    Line,
    TranscriptBuilder,
    lines_from_bytes,
    lines_from_chunks,
)

CASES = [
    ("crlf", b"abc\r\ndef\r\n", ["abc", "def"]),
    ("lfcr", b"abc\n\rdef\n\r", ["abc", "def"]),
    ("lf only", b"abc\ndef\n", ["abc", "def"]),
    ("unterminated last line", b"abc\ndef", ["abc", "def"]),
    ("empty lines", b"a\n\nb\r\n\r\nc\n", ["a", "", "b", "", "c"]),
    ("lf then crlf", b"a\n\r\nb\n", ["a", "", "b"]),
    ("cr cr lf", b"abc\r\r\ndef\n", ["abc", "def"]),
    ("countdown", b"Boot in 3\rBoot in 2\rBoot in 1\r\n", ["Boot in 1"]),
    ("countdown shorter", b"Waiting 10 s\rWaiting 9 s \r\n", ["Waiting 9 s"]),
    ("countdown then text", b"Press ESC in 2\rPress ESC in 1\r              \rdone\n", ["done"]),
    ("backspace", b"ab\x08c\n", ["ac"]),
    ("backspace at column 0", b"\x08\x08ab\n", ["ab"]),
    ("nul dropped", b"a\x00b\x00\n", ["ab"]),
    ("bell and other c0 dropped", b"a\x07b\x01c\x7f\n", ["abc"]),
    ("tab kept", b"a\tb\n", ["a\tb"]),
    ("invalid utf-8", b"a\xffb\xc3\n", ["a\ufffdb\ufffd"]),
    ("utf-8 multibyte", "caf\u00e9 \u2713\n".encode(), ["caf\u00e9 \u2713"]),
    ("sgr colours", b"\x1b[1;33mWARN\x1b[0m done\n", ["WARN done"]),
    ("uefi redraw rows", b"\x1b[1;1HShell> \x1b[2;1Hnext line", ["Shell>", "next line"]),
    ("same row new column", b"\x1b[3;1Habcdef\x1b[3;3HX\n", ["abXdef"]),
    ("clear screen", b"old\x1b[2Jnew\n", ["old", "new"]),
    ("cursor down", b"one\x1b[Btwo\n", ["one", "two"]),
    ("cursor forward", b"a\x1b[3Cb\n", ["a   b"]),
    ("cursor to column", b"abcdef\x1b[2GX\n", ["aXcdef"]),
    ("erase line ignored", b"text\x1b[K\n", ["text"]),
    ("osc title bel", b"\x1b]0;window title\x07text\n", ["text"]),
    ("osc title st", b"\x1b]2;title\x1b\\text\n", ["text"]),
    ("charset select", b"\x1b(Btext\x1b)0\n", ["text"]),
    ("two byte escape", b"\x1b7saved\x1b8\n", ["saved"]),
    ("dec private mode", b"\x1b[?25lhidden cursor\x1b[?25h\n", ["hidden cursor"]),
    ("next line escape", b"one\x1bEtwo\n", ["one", "two"]),
    ("trailing spaces cut", b"abc   \r\n", ["abc"]),
]


def texts(lines: list[Line]) -> list[str]:
    return [line.text for line in lines]


@pytest.mark.parametrize("data, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lines_whole_read(data: bytes, expected: list[str]) -> None:
    assert texts(lines_from_bytes(data)) == expected


@pytest.mark.parametrize("data, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lines_byte_by_byte(data: bytes, expected: list[str]) -> None:
    chunks = [(data[i : i + 1], float(i)) for i in range(len(data))]
    assert texts(list(lines_from_chunks(chunks))) == expected


@pytest.mark.parametrize("data, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lines_split_anywhere(data: bytes, expected: list[str]) -> None:
    for cut in range(1, len(data)):
        chunks = [(data[:cut], 0.0), (data[cut:], 1.0)]
        assert texts(list(lines_from_chunks(chunks))) == expected, f"split at byte {cut}"


def test_lines_numbered_from_one() -> None:
    lines = lines_from_bytes(b"a\nb\r\nc\x1b[5;1Hd\n")
    assert [line.number for line in lines] == [1, 2, 3, 4]


def test_line_time_first_byte() -> None:
    builder = TranscriptBuilder()
    assert builder.feed(b"Boot in 3", 1.0) == []
    assert builder.feed(b"\rBoot in 2", 2.0) == []
    (line,) = builder.feed(b"\rBoot in 1\r\n", 3.0)
    assert line.text == "Boot in 1"
    assert line.time == 1.0
    assert line.end == 3.0


def test_line_times_fast_path() -> None:
    builder = TranscriptBuilder()
    builder.feed(b"first half ", 0.5)
    lines = builder.feed(b"second half\r\nmiddle\r\nlast", 0.75)
    lines += builder.finish(0.9)
    assert [(line.text, line.time, line.end) for line in lines] == [
        ("first half second half", 0.5, 0.75),
        ("middle", 0.75, 0.75),
        ("last", 0.75, 0.9),
    ]


def test_partial_shows_unfinished_line() -> None:
    builder = TranscriptBuilder()
    builder.feed(b"done\r\nShell> ", 0.0)
    assert builder.partial == "Shell> "


def test_line_is_frozen() -> None:
    line = Line(1, 0.0, "text", 0.0)
    with pytest.raises(AttributeError):
        line.text = "other"  # type: ignore[misc]


def test_long_line_cut_into_pieces() -> None:
    data = b"x" * (MAX_LINE_CHARS * 2 + 10) + b"\n"
    lines = lines_from_bytes(data)
    assert [len(line.text) for line in lines] == [MAX_LINE_CHARS, MAX_LINE_CHARS, 10]


def test_long_line_memory_flat() -> None:
    """50 MB with no newline, fed in 1 MB reads, must not be held in memory."""
    chunk = b"0123456789abcdef" * 65536
    builder = TranscriptBuilder()
    total_chars = 0
    tracemalloc.start()
    try:
        for index in range(50):
            total_chars += sum(len(line.text) for line in builder.feed(chunk, float(index)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    total_chars += sum(len(line.text) for line in builder.finish(50.0))
    assert total_chars == 50 * len(chunk)
    assert peak < 8 * len(chunk), f"peak {peak} bytes while feeding 1 MB reads"


def test_escape_filter_split_sequence() -> None:
    pieces = ["She", "\x1b", "[0", ";3", "3m", "ll> "]
    escape_filter = EscapeFilter()
    assert "".join(escape_filter.filter(piece) for piece in pieces) == "Shell> "


def test_escape_filter_row_move_newline() -> None:
    escape_filter = EscapeFilter()
    assert escape_filter.filter("\x1b[1;1Hone\x1b[2;1Htwo") == "\none\ntwo"


def test_escape_filter_keeps_carriage_return() -> None:
    assert EscapeFilter().filter("a\r\nb\x00") == "a\r\nb"


TOKENS = [
    b"text",
    b" ",
    b"\r\n",
    b"\n",
    b"\r",
    b"\n\r",
    b"\x08",
    b"\x00",
    b"\t",
    b"\xff",
    "\u00e9".encode(),
    b"\x1b[0m",
    b"\x1b[12;3H",
    b"\x1b[2J",
    b"\x1b[K",
    b"\x1b]0;title\x07",
    b"\x1b(B",
    b"\x1b[3C",
]


@pytest.mark.parametrize("seed", range(40))
def test_lines_random_splits_agree(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(rng.choice(TOKENS) for _ in range(rng.randint(20, 200)))
    whole = texts(lines_from_bytes(data))
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    bounds = [0, *cuts, len(data)]
    chunks = [(data[start:end], 0.0) for start, end in zip(bounds, bounds[1:])]
    assert texts(list(lines_from_chunks(chunks))) == whole, f"data {data!r} cut at {cuts}"


FILTER_CASES = [
    "\x1b[1;33mWARN\x1b[0m done\r\n",
    "\x1b[2J\x1b[1;1HShell> \x1b[2;1Hnext",
    "\x1b]0;title\x07text\x1b(B more",
    "Press ESC in 2\rPress ESC in 1\r\n",
    "row\x1b[5;1Hfive\x1b[5;9Hsame row",
]


@pytest.mark.parametrize("text", FILTER_CASES)
def test_escape_filter_split_anywhere(text: str) -> None:
    whole = EscapeFilter().filter(text)
    for cut in range(1, len(text)):
        escape_filter = EscapeFilter()
        pieces = escape_filter.filter(text[:cut]) + escape_filter.filter(text[cut:])
        assert pieces == whole, f"split at character {cut}"
