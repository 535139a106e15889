"""Facts from a UEFI shell session (the EDK2 shell, as `Shell.efi` prints it).

A command block starts at a prompt line (`Shell> CMD` or `FS0:\\> CMD`) and
holds the lines up to the next prompt. Each command has a reader below;
the output of `dmem` and `acpiview` is handed to the table decoders.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from armcheck.facts import UEFI_SHELL
from armcheck.parsers.base import LogLine, ParseContext

log = logging.getLogger(__name__)

# A block longer than this many lines is closed early, so that a log that
# never shows another prompt cannot hold memory without bound.
MAX_BLOCK_LINES = 20000
# Inside a command block, only a line that contains one of these texts can do
# more than join the block: `>` may start a prompt, and `UEFI` a banner.
BLOCK_BREAKS = (b">", b"UEFI")

# Readers whose only effect is facts recorded with set_once (smbiosview also
# collects the types it saw). For them, a block with the same bytes as one
# read before (the next boot of a board in a loop) would record nothing new,
# so it is not read again.
REPEAT_SAFE = frozenset({"memmap", "smbiosview", "pci", "sermode"})
# Keys of blocks already read are kept up to this many, then cleared.
# NOTE: a key is Python's 64-bit hash of the block, as for dmem sessions, so
# two different blocks with equal hashes would count as a repeat.
MAX_READ_BLOCKS = 4096

# A shell prompt line, typed or echoed from a script, with its command: `Shell> ver`.
PROMPT_LINE = re.compile(r"^(?:Shell|[A-Za-z]+\d+:\\[^>\s]*)> ?(.*)$")
_SHELL_VERSION = re.compile(r"UEFI Interactive Shell v(\S+)")
_UEFI_BANNER = re.compile(r"UEFI v(\d+\.\d+) \((.+), (0x[0-9A-Fa-f]+)\)")
_TIME = re.compile(r"^\s*(\d\d):(\d\d):(\d\d)\s*(\(.*\))?\s*$")
_DATE = re.compile(r"^\s*(\d\d)/(\d\d)/(\d{4})\s*$")
# A `memmap` row: type (BS_Data, ACPI_Recl, ...), start-end, pages, attributes.
MEMMAP_LINE = re.compile(
    r"^\s*([A-Za-z_]+)\s+([0-9A-Fa-f]{16})-[0-9A-Fa-f]{16}\s+([0-9A-Fa-f]{16})\s+([0-9A-Fa-f]{16})"
)
# dmem lines kept for one session's decode. A dump line shows 16 bytes, so
# this is 1.6 MB of table bytes. That is more than the ACPI tables of large
# servers take (an estimate), and a longer session is decoded in parts.
MAX_DMEM_LINES = 100_000
_SERMODE = re.compile(r"\((\d+),\s*([A-Za-z]),\s*(\d+),\s*([\d.]+)\)")
_PCI = re.compile(
    r"^\s*([0-9A-Fa-f]{2,4})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]{2})\s+([0-9A-Fa-f]{2})\s+==>\s+(.*)$"
)
_PCI_IDS = re.compile(r"Vendor ([0-9A-Fa-f]{4}) Device ([0-9A-Fa-f]{4})")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z][\w .()/-]*?)\s*:\s*(.*?)\s*$")
_SMBIOS_TYPE = re.compile(r"^\s*Type=(\d+), Handle=")

# smbiosview field names per structure type, mapped to the keys of docs/facts.md.
_SMBIOS_FIELDS: dict[int, tuple[str, dict[str, str]]] = {
    0: (
        "smbios.bios",
        {"Vendor": "vendor", "BiosVersion": "version", "BiosReleaseDate": "release_date"},
    ),
    1: (
        "smbios.system",
        {
            "Manufacturer": "manufacturer",
            "ProductName": "product",
            "Version": "version",
            "SerialNumber": "serial",
        },
    ),
    2: (
        "smbios.baseboard",
        {"Manufacturer": "manufacturer", "ProductName": "product", "Version": "version"},
    ),
    3: (
        "smbios.chassis",
        {"Manufacturer": "manufacturer", "System Enclosure or Chassis Types": "type"},
    ),
}
# smbiosview field names of a Processor Information (type 4) structure.
_PROCESSOR_FIELDS = {
    "SocketDesignation": "socket",
    "ProcessorManufacturer": "manufacturer",
    "ProcessorVersion": "version",
}


class RawLines:
    """Output lines of a shell block kept as the bytes read, and built into LogLines on demand.

    `build(number, data)` returns the LogLines of `data`, the first numbered `number`.
    The bytes serve as the key of a repeated block, so most repeats are never built.
    """

    __slots__ = ("number", "data", "count", "build")

    def __init__(
        self, number: int, data: bytes, count: int, build: Callable[[int, bytes], list[LogLine]]
    ) -> None:
        self.number = number
        self.data = data
        self.count = count
        self.build = build

    def lines(self) -> list[LogLine]:
        return self.build(self.number, self.data)

    def first_line(self) -> LogLine | None:
        lines = self.build(self.number, self.data[: self.data.find(b"\n") + 1])
        return lines[0] if lines else None


def _lines(pieces: list[Any]) -> list[LogLine]:
    lines: list[LogLine] = []
    for piece in pieces:
        if type(piece) is RawLines:
            lines.extend(piece.lines())
        else:
            lines.append(piece)
    return lines


def _whole_listing(command: str, types: set[int]) -> bool:
    """Tell whether an `smbiosview` block listed the whole table.

    That is a block of `smbiosview` without `-t` that shows End-of-Table (type 127).
    """
    return "-t" not in command.lower().split() and 127 in types


def _content_key(head: tuple[Any, ...], pieces: list[Any]) -> int:
    """Return a key of `head` and the lines of `pieces`, wherever the runs of lines were cut.

    The scanner cuts runs at the ends of its input blocks, which fall at other
    places in each repeat of the same output: adjacent runs are joined first.
    """
    parts = list(head)
    run: list[bytes] = []
    for piece in pieces:
        if type(piece) is RawLines:
            run.append(piece.data)
            continue
        if run:
            parts.append(b"".join(run))
            run = []
        parts.append(piece.message)
    if run:
        parts.append(b"".join(run))
    return hash(tuple(parts))


class ShellParser:
    """Records uefi.*, smbios.* and pci.* facts from UEFI shell command blocks."""

    def __init__(
        self, ctx: ParseContext, tables: Callable[[str, list[LogLine]], None] | None = None
    ):
        self.ctx = ctx
        self.command: str | None = None
        # The open block's lines: LogLines, and runs of lines kept as bytes (RawLines).
        self.block: list[Any] = []
        self._block_count = 0
        self._tables = tables
        self._date: str | None = None
        # Every `dmem` block of the session, decoded together when the session
        # ends: the ACPI 2.0 pointer comes from one dump and the tables from later ones.
        self._dmem_pieces: list[Any] = []
        self._dmem_count = 0
        # Hashes of (command, block contents) already read, for REPEAT_SAFE
        # commands, with the SMBIOS types each smbiosview block showed.
        self._read_blocks: dict[int, set[int]] = {}
        self._smbios_types: set[int] = set()
        # Whether the session showed the whole table, so that its types are all the types.
        self._smbios_whole = False
        # The SMBIOS types of the block being read, kept for its repeats.
        self._block_types: set[int] = set()
        self._smbios_line: LogLine | None = None
        self._last_command = ""
        self._decoded_sessions: set[int] = set()

    @property
    def in_block(self) -> bool:
        return self.command is not None

    def parse(self, line: LogLine) -> None:
        text = line.message
        prompt = PROMPT_LINE.match(text) if ">" in text else None
        if prompt is not None:
            self._close()
            command = prompt.group(1).strip()
            self._last_command = command.split()[0].lower() if command else ""
            # Only commands with a reader open a block: the output of others
            # (or of a booted OS) must not be held line by line.
            if command and command.split()[0].lower() in _BLOCK_COMMANDS:
                self.command = command
            self.ctx.set_once("uefi.shell.seen", True, UEFI_SHELL, line)
            return
        if "UEFI" in text:
            self._banner(line, text)
        if self.command is not None:
            self.add_block_line(line)

    def add_block_line(self, line: LogLine) -> None:
        """Add one output line, which is neither a prompt nor a banner, to the open block."""
        self.block.append(line)
        self._block_count += 1
        if self._block_count >= MAX_BLOCK_LINES:
            self._close()

    @property
    def block_room(self) -> int:
        """Number of lines `add_block_lines` may add before the open block must be closed."""
        if self.command is None:
            return 0
        return max(0, MAX_BLOCK_LINES - 1 - self._block_count)

    def add_block_lines(self, lines: list[LogLine] | RawLines) -> None:
        """Add output lines to the open block, as `parse` would one by one.

        The caller guarantees that no line contains a text of BLOCK_BREAKS and
        that there are at most `block_room` lines.
        """
        if isinstance(lines, RawLines):
            self.block.append(lines)
            self._block_count += lines.count
        else:
            self.block.extend(lines)
            self._block_count += len(lines)
        if self._block_count >= MAX_BLOCK_LINES:
            self._close()

    def finish(self) -> None:
        """End the session: close the open block and decode the session's dmem dumps."""
        self._close()
        self._flush_dmem()
        if self._smbios_types and self._smbios_line is not None:
            types = sorted(self._smbios_types)
            if self._smbios_whole:
                self._add("smbios.types", types, self._smbios_line)
            else:
                problem = (
                    "no `smbiosview` listing of the whole table (one that ends with the "
                    "End-of-Table structure, type 127); `smbiosview -t N` shows type N only"
                )
                value = {"types": types, "problems": [problem]}
                self._add("smbios.partial_types", value, self._smbios_line)
        self._smbios_types = set()
        self._smbios_line = None
        self._smbios_whole = False

    def _flush_dmem(self) -> None:
        if self._dmem_pieces and self._tables is not None:
            # A session that dumped the same bytes as an earlier one (a board
            # reset in a loop) would only repeat facts already recorded.
            digest = _content_key((), self._dmem_pieces)
            if digest not in self._decoded_sessions:
                self._decoded_sessions.add(digest)
                self._tables("dmem", _lines(self._dmem_pieces))
        self._dmem_pieces = []
        self._dmem_count = 0

    def _banner(self, line: LogLine, text: str) -> None:
        match = _SHELL_VERSION.search(text)
        if match and self._last_command != "ver":
            # The shell banner outside `ver` output starts a new session (the board was reset).
            self.finish()
            self.ctx.set_once("uefi.shell.version", match.group(1), UEFI_SHELL, line)
        match = _UEFI_BANNER.search(text)
        if match:
            revision, vendor, firmware_revision = match.groups()
            self.ctx.set_once("uefi.revision", revision, UEFI_SHELL, line)
            self.ctx.set_once("firmware.vendor", vendor, UEFI_SHELL, line)
            self.ctx.set_once("uefi.firmware_revision", firmware_revision, UEFI_SHELL, line)

    def _close(self) -> None:
        command, pieces = self.command, self.block
        self.command = None
        self.block = []
        self._block_count = 0
        if not command or not pieces:
            return
        name = command.split()[0].lower()
        if name == "dmem":
            self._dmem(command, pieces)
            return
        reader = _READERS.get(name)
        if reader is None:
            return
        key = None
        if name in REPEAT_SAFE:
            key = _content_key((command,), pieces)
            types = self._read_blocks.get(key)
            if types is not None:
                self._note_smbios_types(types, pieces)
                self._smbios_whole |= _whole_listing(command, types)
                return
        self._block_types = set()
        try:
            reader(self, command, _lines(pieces))
        except (ValueError, IndexError) as err:
            # A garbled block gives a partial document, not a failed run.
            log.warning("%s: could not read the `%s` output: %s", self.ctx.file, command, err)
        if key is not None:
            if len(self._read_blocks) >= MAX_READ_BLOCKS:
                self._read_blocks.clear()
            self._read_blocks[key] = self._block_types

    def _note_smbios_types(self, types: set[int], pieces: list[Any]) -> None:
        """Repeat what an smbiosview block read before did to the session's SMBIOS types."""
        if not types:
            return
        if self._smbios_line is None:
            first = pieces[0]
            self._smbios_line = first.first_line() if type(first) is RawLines else first
        self._smbios_types |= types

    def _add(self, key: str, value: Any, line: LogLine) -> None:
        # The same output in a later session (after a reset) adds nothing new.
        self.ctx.set_once(key, value, UEFI_SHELL, line)

    # Command readers.

    def _time(self, command: str, block: list[LogLine]) -> None:
        for line in block:
            match = _TIME.match(line.message)
            if match:
                clock = ":".join(match.groups()[:3])
                value = f"{self._date} {clock}" if self._date else clock
                self._add("uefi.time", value, line)
                return

    def _date_command(self, command: str, block: list[LogLine]) -> None:
        for line in block:
            match = _DATE.match(line.message)
            if match:
                month, day, year = match.groups()
                self._date = f"{year}-{month}-{day}"
                self._add("uefi.date", self._date, line)
                return

    def _memmap(self, command: str, block: list[LogLine]) -> None:
        entries = []
        for line in block:
            match = MEMMAP_LINE.match(line.message)
            if match:
                kind, start, pages, attributes = match.groups()
                entries.append(
                    {
                        "type": kind,
                        "start": int(start, 16),
                        "pages": int(pages, 16),
                        "attributes": int(attributes, 16),
                    }
                )
        if entries:
            self._add("uefi.memmap", entries, block[0])

    def _dmem(self, command: str, pieces: list[Any]) -> None:
        # The RSDP, the XSDT and each table are usually dumped by separate
        # `dmem` commands, so the decoder gets every dump of the session at once.
        self._dmem_pieces.extend(pieces)
        self._dmem_count += sum(piece.count if type(piece) is RawLines else 1 for piece in pieces)
        if self._dmem_count > MAX_DMEM_LINES:
            self._flush_dmem()

    def _acpiview(self, command: str, block: list[LogLine]) -> None:
        if self._tables is not None:
            self._tables("acpiview", block)

    def _smbiosview(self, command: str, block: list[LogLine]) -> None:
        # (type, field values, first line) of each structure shown.
        structures: list[tuple[int, dict[str, str], LogLine]] = []
        for line in block:
            text = line.message
            # The substring tests skip the patterns on lines they cannot match.
            match = _SMBIOS_TYPE.match(text) if "Type=" in text else None
            if match:
                structures.append((int(match.group(1)), {}, line))
                continue
            pair = _KEY_VALUE.match(text) if ":" in text else None
            if pair is None:
                continue
            key, value = pair.groups()
            if not structures:
                self._smbios_entry_point(key, value, line)
            else:
                structures[-1][1].setdefault(key, value)

        types = {number for number, _, _ in structures}
        if types and self._smbios_line is None:
            self._smbios_line = block[0]
        # Each `smbiosview -t N` shows one type; finish() records them all at once.
        self._smbios_types |= types
        self._block_types = types
        self._smbios_whole |= _whole_listing(command, types)
        for number, (key, names) in _SMBIOS_FIELDS.items():
            found = [(values, line) for kind, values, line in structures if kind == number]
            if found:
                values, line = found[0]
                # An empty field ("SerialNumber:") is a string the structure does not set.
                record = {field: values.get(name) or None for name, field in names.items()}
                self._add(key, record, line)
        processors = [(values, line) for kind, values, line in structures if kind == 4]
        if processors:
            self._add(
                "smbios.processor",
                [_processor(values) for values, _ in processors],
                processors[0][1],
            )

    def _smbios_entry_point(self, key: str, value: str, line: LogLine) -> None:
        if key == "Anchor String":
            kind = "64-bit" if value.startswith("_SM3_") else "32-bit"
            self.ctx.set_once("smbios.entry_point", kind, UEFI_SHELL, line)
        elif key == "Version":
            match = re.match(r"(\d+)\.(\d+)", value)
            if match:
                self.ctx.set_once(
                    "smbios.version", f"{match.group(1)}.{match.group(2)}", UEFI_SHELL, line
                )

    def _pci(self, command: str, block: list[LogLine]) -> None:
        devices = []
        for index, line in enumerate(block):
            match = _PCI.match(line.message)
            if match is None:
                continue
            segment, bus, device, function, klass = match.groups()
            entry: dict[str, Any] = {
                "segment": int(segment, 16),
                "bus": int(bus, 16),
                "device": int(device, 16),
                "function": int(function, 16),
                "vendor": None,
                "device_id": None,
                "class": klass.strip(),
            }
            if index + 1 < len(block):
                ids = _PCI_IDS.search(block[index + 1].text)
                if ids:
                    entry["vendor"] = int(ids.group(1), 16)
                    entry["device_id"] = int(ids.group(2), 16)
            devices.append(entry)
        if devices:
            self._add("pci.devices", devices, block[0])

    def _sermode(self, command: str, block: list[LogLine]) -> None:
        for line in block:
            match = _SERMODE.search(line.message)
            if match:
                baud, parity, data_bits, stop_bits = match.groups()
                value = {
                    "baud": int(baud),
                    "parity": parity.upper(),
                    "data_bits": int(data_bits),
                    "stop_bits": stop_bits,
                }
                self._add("uefi.serial", value, line)


def _processor(values: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {
        field: values.get(name) or None for name, field in _PROCESSOR_FIELDS.items()
    }
    # SMBIOS 3.0 moved counts above 255 to Core Count 2 and Thread Count 2.
    record["cores"] = _count(values.get("CoreCount2") or values.get("CoreCount"))
    record["threads"] = _count(values.get("ThreadCount2") or values.get("ThreadCount"))
    return record


def _count(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) > 0 else None


_READERS: dict[str, Callable[[ShellParser, str, list[LogLine]], None]] = {
    "time": ShellParser._time,
    "date": ShellParser._date_command,
    "memmap": ShellParser._memmap,
    # dmem blocks go to ShellParser._dmem, which gathers the session's dumps.
    "acpiview": ShellParser._acpiview,
    "smbiosview": ShellParser._smbiosview,
    "pci": ShellParser._pci,
    "sermode": ShellParser._sermode,
}
_BLOCK_COMMANDS = frozenset(_READERS) | {"dmem"}
