"""Read the inputs of `armcheck facts` and `armcheck check`, detecting each kind.

Kinds, tried in this order on the first bytes of each file:

- `capture`: an armcheck capture (asciicast v2); lines keep their arrival time;
- `acpi-binary`: a raw ACPI table (`.dat`, `.aml`, `.bin`) or an RSDP;
- `smbios-binary`: a raw SMBIOS dump (`dmidecode --dump-bin`);
- `lava-log`: LAVA's `log.yaml`, a list of `{dt, lvl, msg}` entries;
- `dsl`, `acpidump`, `dmidecode`, `table-list`: table text (iasl disassembly,
  `acpidump` output, `dmidecode` output, a Windows firmware-table list);
- `console-log`: any other text: a console log or `dmesg` output, in UTF-8,
  Latin-1 or UTF-16 with a byte-order mark, with any line endings, escape
  sequences and line prefixes (see armcheck/parsers/base.py).

A folder is read file by file (as `/sys/firmware/acpi/tables` or an
`acpixtract` output folder). Binary data of no known kind is rejected with an
InputFormatError that names the file.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import dataclasses
import itertools
import json
import logging
import os
import re
import struct
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from armcheck import streams
from armcheck.capture import iter_events, read_capture_header
from armcheck.errors import InputFormatError
from armcheck.facts import Facts, Observation
from armcheck.parsers import tables_bridge
from armcheck.parsers.base import HostClock, split_prefix
from armcheck.parsers.collected import facts_from_command_blocks, in_command_block
from armcheck.parsers.stream import LogParser, read_blocks, scan_blocks
from armcheck.session import read_run_state
from armcheck.transcript import Line, TranscriptBuilder

log = logging.getLogger(__name__)

HEAD_BYTES = 65536
# Table text and table bytes are read whole; larger files are not tables.
MAX_TABLE_FILE_BYTES = 64 << 20

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DSL = re.compile(
    r"Intel ACPI Component Architecture|^\[[0-9A-Fa-f]{3,4}h [0-9]{4,5} +\d+\] +Signature : \""
    r"|^\s*DefinitionBlock \(",
    re.MULTILINE,
)
_ACPIDUMP = re.compile(r"^\s*(?:[A-Z0-9_!]{4}|RSD PTR) @ 0x[0-9A-Fa-f]+\s*$", re.MULTILINE)
_DMIDECODE = re.compile(r"^Handle 0x[0-9A-Fa-f]{4}, DMI type \d+", re.MULTILINE)
# A structure title of `dmidecode -q` output, then its first field.
_DMIDECODE_QUIET = re.compile(
    r"^(?:BIOS|System|Base Board|Chassis|Processor) Information\r?\n\t[A-Z][\w ]*: ", re.MULTILINE
)
_TABLE_LIST = re.compile(r"^Firmware Provider\s*:", re.MULTILINE)
_LAVA = re.compile(r"^- \{.*\bdt\b.*\bmsg\b", re.MULTILINE)
_SIGNATURE = re.compile(rb"[A-Z0-9_!]{4}")
# The offset 0 at the start of a `hexdump -C`, xxd or od dump.
_HEX_DUMP_START = re.compile(r"0{6,8}:? ")
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
EXPECTED = (
    "expected a console log, an armcheck capture, a LAVA log.yaml, dmesg output, ACPI tables "
    "(binary, acpidump, iasl .dsl), dmidecode output or an SMBIOS dump"
)


def read_facts(paths: Sequence[str | os.PathLike[str]]) -> Facts:
    """Read every input into one facts document; raise InputFormatError on a bad input."""
    facts = Facts()
    for path in paths:
        read_input(Path(path), facts)
    if streams.SPOOLED:
        _rename_copies(facts)
    return facts


def _rename_copies(facts: Facts) -> None:
    """Name the copies of stream inputs in the evidence and the input list as the user did."""
    for entry in facts.inputs:
        entry["file"] = streams.display_name(entry["file"])
    for observations in facts.observations.values():
        for index, observation in enumerate(observations):
            file = observation.evidence.file
            if file is not None and file in streams.SPOOLED:
                evidence = dataclasses.replace(observation.evidence, file=streams.SPOOLED[file])
                observations[index] = Observation(observation.value, evidence)


def read_input(path: Path, facts: Facts) -> None:
    """Detect the kind of one input and add its facts to `facts`."""
    if path.is_dir():
        _read_folder(path, facts)
        return
    kind, encoding = detect(path)
    log.info("reading %s as %s", path, kind)
    file = str(path)
    extra: dict[str, Any] = {}
    if kind == "capture":
        lines = _read_capture(path, facts)
        started = _capture_start(path)
        if started is not None:
            extra["timestamp"] = started
    elif kind == "lava-log":
        lines = _read_lava(path, facts)
    elif kind == "console-log":
        lines = _read_console_log(path, encoding, facts)
    else:
        lines = _read_tables(path, kind, encoding, facts)
    facts.inputs.append({"file": file, "kind": kind, "lines": lines, **extra})


def _read_tables(path: Path, kind: str, encoding: str | None, facts: Facts) -> int:
    """Hand a table file to its decoder; return its number of text lines (0 for bytes)."""
    file = str(path)
    try:
        if kind in tables_bridge.BINARY_DECODERS:
            lines = 0
            decoded = tables_bridge.binary_file(kind, _read_small(path), facts, file)
        else:
            text_lines = list(_text_lines(path, encoding))
            lines = len(text_lines)
            decoded = tables_bridge.text_file(kind, text_lines, facts, file)
    except (ValueError, IndexError, struct.error) as err:
        raise InputFormatError(f"{path}: invalid {kind} input: {err}") from err
    if not decoded:
        raise InputFormatError(f"{path}: this build of armcheck cannot decode {kind} files")
    return lines


def detect(path: Path) -> tuple[str, str | None]:
    """Return the kind of the input at `path` and the text encoding (None for bytes)."""
    try:
        with open(path, "rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as err:
        raise InputFormatError(f"cannot read {path}: {err.strerror}") from err
    if not head:
        raise InputFormatError(
            f"{path}: the file is empty; give a console log, a capture or a table dump"
        )

    encoding = _text_encoding(head)
    if encoding is None:
        kind = _binary_kind(head)
        if kind is None:
            raise InputFormatError(
                f"{path}: not a known input: {EXPECTED}, but it holds binary data"
            )
        return kind, None

    text = head.decode(encoding, "replace") if encoding != "utf-16" else _utf16_head(head)
    return _text_kind(path, text), encoding


def _text_encoding(head: bytes) -> str | None:
    """Return how to decode `head` as text, or None when it is binary data."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if not head:
        return "utf-8"
    if head.startswith((b"RSD PTR ", b"_SM_", b"_SM3_")):
        return None
    if _looks_like_acpi_header(head):
        return None
    zero = head.count(0)
    odd_zero = head[1::2].count(0)
    if zero and odd_zero >= 0.9 * zero and odd_zero > len(head) // 4:
        return "utf-16-le"
    # Binary data has both control bytes and bytes that are not UTF-8; a
    # console log may have many of the first (line noise, NULs) or of the
    # second (Latin-1 text), rarely of both.
    controls = sum(head.count(bytes([c])) for c in range(0, 32) if c not in (8, 9, 10, 12, 13, 27))
    if controls <= len(head) // 50:
        return "utf-8"
    invalid = head.decode("utf-8", "replace").count("\ufffd")
    return None if invalid > len(head) // 20 else "utf-8"


def _utf16_head(head: bytes) -> str:
    return codecs.getincrementaldecoder("utf-16")("replace").decode(head)


def _binary_kind(head: bytes) -> str | None:
    if head.startswith(b"RSD PTR "):
        return "acpi-binary"
    if head.startswith((b"_SM_", b"_SM3_")):
        return "smbios-binary"
    if _looks_like_acpi_header(head):
        # A table cut short or with a wrong length field: the decoder reports
        # what is wrong.
        return "acpi-binary"
    if _looks_like_smbios_table(head):
        return "smbios-binary"
    return None


def _looks_like_acpi_header(head: bytes) -> bool:
    """Tell whether `head` starts with a table signature followed by binary header fields.

    The length field of any table under 16 MiB has a NUL byte, so a text line
    that starts with four capitals (`ACPI: ...`) does not pass.
    """
    return bool(_SIGNATURE.fullmatch(head[:4])) and 0 in head[4:36]


def _looks_like_smbios_table(head: bytes) -> bool:
    """Tell whether `head` starts with SMBIOS structures without an entry point (sysfs `DMI`).

    Each structure is a header (type, length of at least 4, handle), its
    formatted bytes, then printable strings that end with two NUL bytes. Two
    such structures in a row, or one followed by End-of-Table (type 127,
    length 4), pass. An ELF file starts with what would be type 127 with
    length 0x45, so it does not.
    """
    offset = 0
    count = 0
    while offset + 4 <= len(head):
        kind, length = head[offset], head[offset + 1]
        if length < 4 or (kind == 127 and length != 4):
            return False
        end = head.find(b"\x00\x00", offset + length)
        if end < 0:
            break
        strings = head[offset + length : end]
        if any(byte != 0 and not 32 <= byte < 127 for byte in strings):
            return False
        count += 1
        if kind == 127:
            return count >= 2
        offset = end + 2
    return count >= 2


def _text_kind(path: Path, text: str) -> str:
    first = text.lstrip()[:4096]
    if first.startswith("{"):
        header = _json_header(first.splitlines()[0])
        if header is not None and header.get("version") == 2 and "width" in header:
            return "capture"
        if header is not None and "version" in header:
            raise InputFormatError(
                f"{path}:1: an asciicast version {header.get('version')} file; armcheck reads "
                "version 2 captures (record them with armcheck or asciinema 2)"
            )
        # A report or facts document of armcheck: its console text is quoted
        # in JSON strings, which the console parsers would misread.
        raise InputFormatError(
            f"{path}: not a known input: a JSON document; {EXPECTED} (`armcheck check` "
            "also reads the JSON of `armcheck facts --json`)"
        )
    if _LAVA.search(first):
        return "lava-log"
    if _DSL.search(text):
        return "dsl"
    if _DMIDECODE.search(text):
        return "dmidecode"
    if _DMIDECODE_QUIET.search(text):
        raise InputFormatError(
            f"{path}: dmidecode output without its `Handle 0x..., DMI type N` lines, as "
            "`dmidecode -q` prints it; armcheck reads the structure types from those lines, "
            "so run dmidecode without -q"
        )
    if _TABLE_LIST.search(text):
        return "table-list"
    if _ACPIDUMP.search(text):
        return "acpidump"
    if _looks_like_dump_text(text):
        return "dump-text"
    return "console-log"


def _looks_like_dump_text(text: str) -> bool:
    """Tell whether `text` starts with a table printed by `base64`, `hexdump -C`, xxd or od."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    hex_line = None
    if _HEX_DUMP_START.match(first):
        # Imported here: the ACPI decoders cost every command start about 10 ms.
        from armcheck.acpi.dumps import parse_hex_line

        hex_line = parse_hex_line(first)
    if hex_line is not None and hex_line.offset == 0:
        data = hex_line.data
    elif _BASE64_LINE.fullmatch(first):
        try:
            data = base64.b64decode(first[: len(first) // 4 * 4], validate=True)
        except binascii.Error:
            return False
    else:
        return False
    return (
        data[:8] == b"RSD PTR " or data[:4] in (b"_SM_", b"_SM3") or _looks_like_acpi_header(data)
    )


def _json_header(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _read_folder(path: Path, facts: Facts) -> None:
    if (path / "smbios_entry_point").is_file():
        if not tables_bridge.smbios_folder(str(path), facts):
            raise InputFormatError(f"{path}: this build of armcheck cannot decode SMBIOS folders")
        facts.inputs.append({"file": str(path), "kind": "smbios-folder", "lines": 0})
        return
    # Hidden entries (.git, .venv) and bytecode caches hold no console or table files.
    files = sorted(
        item
        for item in path.rglob("*")
        if item.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__" for part in item.relative_to(path).parts
        )
    )
    read = 0
    skipped: list[str] = []
    for item in files:
        try:
            read_input(item, facts)
            read += 1
        except InputFormatError as err:
            log.info("skipped %s", err)
            skipped.append(str(item.relative_to(path)))
    if skipped:
        names = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        log.warning(
            "%s: skipped %d %s that armcheck does not read (%s); `armcheck -v` shows why",
            path,
            len(skipped),
            "file" if len(skipped) == 1 else "files",
            names,
        )
    if read == 0:
        raise InputFormatError(
            f"{path}: no readable input in this folder; expected ACPI table files, "
            "console logs or captures"
        )


def _read_small(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_TABLE_FILE_BYTES + 1)
    except OSError as err:
        raise InputFormatError(f"cannot read {path}: {err.strerror}") from err
    if len(data) > MAX_TABLE_FILE_BYTES:
        raise InputFormatError(f"{path}: larger than {MAX_TABLE_FILE_BYTES} bytes, not a table")
    return data


def _text_lines(path: Path, encoding: str | None) -> Iterator[Line]:
    data = _read_small(path).decode(encoding or "utf-8", "replace")
    for number, text in enumerate(data.splitlines(), 1):
        yield Line(number, 0.0, text.rstrip(), 0.0)


def _utf8_blocks(file: Any, encoding: str | None) -> Iterator[bytes]:
    """Yield the file's text as UTF-8 blocks (the scanner reads UTF-8)."""
    if encoding in (None, "utf-8"):
        yield from read_blocks(file)
        return
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    for block in read_blocks(file):
        yield decoder.decode(block).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _line_feed_blocks(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Yield `blocks`, with each carriage return made a line feed when the first block has none.

    Some terminal programs save lines that end in a carriage return alone. In
    a log with line feeds, a lone carriage return moves to the start of the
    line (a progress count overwrites itself), so it stays as it is there.
    """
    first = next(blocks, None)
    if first is None:
        return
    if b"\n" in first or b"\r" not in first:
        yield first
        yield from blocks
        return
    yield first.replace(b"\r", b"\n")
    for block in blocks:
        yield block.replace(b"\r", b"\n")


def _read_console_log(path: Path, encoding: str | None, facts: Facts) -> int:
    """Read a text file as console output; reject it when none of its lines is.

    A kernel log whose messages carry no fact is still a kernel log: its
    printk timestamps are enough.
    """
    parser = LogParser(facts, str(path))
    try:
        with open(path, "rb") as file:
            blocks = _line_feed_blocks(_utf8_blocks(file, encoding))
            first = next(blocks, b"")
            rewrite = _kernel_log_rewrite(first[:HEAD_BYTES])
            if rewrite is not None:
                pattern, replacement = rewrite
                first = pattern.sub(replacement, first)
                blocks = (pattern.sub(replacement, block) for block in blocks)
            parser.start_clock(first[:HEAD_BYTES].decode("utf-8", "replace"))
            count = scan_blocks(itertools.chain((first,), blocks), parser)
    except OSError as err:
        raise InputFormatError(f"cannot read {path}: {err.strerror}") from err
    if parser.ctx.recognised:
        return count
    if not _has_kernel_lines(first[:HEAD_BYTES].decode("utf-8", "replace")):
        raise InputFormatError(
            f"{path}: not a known input: none of its {count} lines is a firmware banner, a UEFI "
            f"shell line, a Linux kernel message or a table dump; {EXPECTED}"
        )
    return count


# Kernel logs whose lines hold more than a printk timestamp before the message:
# `dmesg -x` puts the facility and level first (`kern  :info  : [    0.000000] `),
# and `journalctl -k -o short-monotonic` the host and `kernel:` after it
# (`[    0.000000] host kernel: `). Each is rewritten to the plain dmesg form.
_KERNEL_LOG_FORMS = (
    (
        re.compile(rb"(?m)^[a-z]+ *:[a-z]+ *: (?=\[ *\d+\.\d+\])"),
        b"",
    ),
    (
        re.compile(rb"(?m)^(\[ *\d+\.\d+\]) [^ \n]+ kernel: "),
        rb"\1 ",
    ),
)


def _kernel_log_rewrite(head: bytes) -> tuple[re.Pattern[bytes], bytes] | None:
    """Return the rewrite of a kernel log form that most lines of `head` have, or None."""
    lines = head.count(b"\n") + 1
    for pattern, replacement in _KERNEL_LOG_FORMS:
        if len(pattern.findall(head)) * 2 > lines:
            return pattern, replacement
    return None


def _has_kernel_lines(text: str) -> bool:
    clock = HostClock()
    return any(split_prefix(line, clock, None)[2] for line in text.splitlines())


def _capture_start(path: Path) -> float | None:
    """Return the host clock (POSIX seconds) at which armcheck started recording the capture."""
    try:
        started = read_capture_header(path).started
        return datetime.fromisoformat(started).timestamp() if started else None
    except ValueError as err:
        log.debug("no start time in capture %s: %s", path, err)
        return None


def _read_capture(path: Path, facts: Facts) -> int:
    """Read a capture; output of commands `armcheck run` typed in Linux goes to its own parser.

    A damaged capture raises CaptureFormatError (exit status 3), not an input error.
    """
    parser = LogParser(facts, str(path))
    builder = TranscriptBuilder()
    last = 0.0
    count = 0
    commands = read_run_state(path).commands
    command_lines: list[Line] = []

    def take(line: Line) -> None:
        if commands and in_command_block(line.end, commands):
            command_lines.append(line)
        else:
            parser.feed_candidate(line.number, line.text, line.time)

    for event in iter_events(path):
        if event.kind != "o":
            continue
        last = event.time
        for line in builder.feed(event.data, event.time):
            take(line)
            count = line.number
    for line in builder.finish(last):
        take(line)
        count = line.number
    parser.finish()
    if command_lines:
        facts_from_command_blocks(command_lines, commands, facts, str(path))
    return count


def _read_lava(path: Path, facts: Facts) -> int:
    """Read LAVA's log.yaml line by line: each line is one `- {dt, lvl, msg}` entry."""
    parser = LogParser(facts, str(path))
    builder = TranscriptBuilder()
    start: float | None = None
    number = 0
    last = 0.0
    try:
        with open(path, "rb") as file:
            for number, raw in enumerate(file, 1):
                entry = _lava_entry(path, number, raw)
                if entry is None or entry.get("lvl") not in ("target", "feedback"):
                    continue
                message = entry.get("msg")
                if not isinstance(message, str):
                    continue
                stamp = _lava_seconds(entry.get("dt"))
                if stamp is not None and start is None:
                    start = stamp
                last = stamp - start if stamp is not None and start is not None else last
                # Evidence cites the line of log.yaml that has the message.
                for line in builder.feed((message + "\n").encode("utf-8", "replace"), last):
                    parser.feed_candidate(number, line.text, line.time)
    except OSError as err:
        raise InputFormatError(f"cannot read {path}: {err.strerror}") from err
    for line in builder.finish(last):
        parser.feed_candidate(number, line.text, line.time)
    parser.finish()
    return number


def _lava_entry(path: Path, number: int, raw: bytes) -> dict[str, Any] | None:
    text = raw.decode("utf-8", "replace").strip()
    if not text.startswith("- "):
        return None
    body = text[2:]
    try:
        value = json.loads(body)
    except ValueError:
        # Imported here: only LAVA logs need it, and it costs every other
        # command start about 10 ms.
        import yaml

        try:
            value = yaml.safe_load(body)
        except yaml.YAMLError:
            log.warning("%s:%d: skipped a LAVA log line that is not a YAML mapping", path, number)
            return None
    return value if isinstance(value, dict) else None


def _lava_seconds(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
