"""Facts from the commands `armcheck run` typed in the Linux shell of a board.

A run's capture marks each command it typed (`command linux-shell: TEXT`,
see armcheck.session). The Linux shell helper frames each command's output
between `ARMCHECK_BEGIN_N` and `ARMCHECK_END_N_STATUS` lines. This module
takes the transcript lines of each such block and records what they show.
That is the kernel release, the command line, watchdog and RTC devices, and
the ACPI and SMBIOS tables sent back from sysfs as base64 with an md5sum each.

The blocks are not boot log: `dmesg` prints the kernel log a second time,
and `inputs` keeps these lines away from the boot-log parsers so that no
`[Firmware Bug]` line is counted twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from armcheck.errors import ArmcheckError
from armcheck.facts import LINUX_SHELL, Evidence, Facts
from armcheck.session import LINUX_SHELL as LINUX_SHELL_STAGE
from armcheck.session import OUTPUT_BEGIN, OUTPUT_END, CommandBlock
from armcheck.transcript import Line

log = logging.getLogger(__name__)

_BEGIN = re.compile(re.escape(OUTPUT_BEGIN) + r"\d+$")
_END = re.compile(re.escape(OUTPUT_END) + r"\d+_(\d+)")
_FILE_HEADER = re.compile(r"^==> (\S+)$")
# A printk timestamp and the rest of its line: `[    5.014496] usb 1-1: ...`.
_PRINTK_TAIL = re.compile(r"\[\s*\d+\.\d+\] .*$")
_MD5_LINE = re.compile(r"^([0-9a-f]{32})\s+(\S+)$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@dataclass
class Block:
    """The output lines of one command typed in the Linux shell."""

    command: str
    lines: list[Line] = field(default_factory=list)
    status: int | None = None


def command_blocks(lines: Iterable[Line], commands: list[CommandBlock]) -> list[Block]:
    """Cut the Linux shell commands' output out of transcript lines, by marker time."""
    linux_commands = [block for block in commands if block.shell == LINUX_SHELL_STAGE]
    blocks = [Block(block.command) for block in linux_commands]
    if not linux_commands:
        return []
    index = 0
    inside = False
    # A line counts by the time of the byte that ended it: the line that carries
    # the BEGIN marker starts with the shell prompt, printed before the command.
    for line in lines:
        while index < len(linux_commands) and line.end >= linux_commands[index].end:
            index += 1
            inside = False
        if index >= len(linux_commands):
            break
        if line.end < linux_commands[index].start:
            continue
        text = line.text.strip()
        if _BEGIN.search(text) and not inside:
            inside = True
            continue
        end = _END.search(text)
        if end is not None and inside:
            blocks[index].status = int(end.group(1))
            inside = False
            continue
        if inside:
            blocks[index].lines.append(line)
    return blocks


def in_command_block(time: float, commands: list[CommandBlock]) -> bool:
    """Tell whether a line that ended at `time` is output of a Linux shell command."""
    return any(
        block.shell == LINUX_SHELL_STAGE and block.start <= time < block.end for block in commands
    )


def facts_from_command_blocks(
    lines: Iterable[Line], commands: list[CommandBlock], facts: Facts, file: str | None
) -> int:
    """Record facts from each Linux shell command block; return how many blocks were read."""
    blocks = command_blocks(lines, commands)
    for block in blocks:
        if not block.lines:
            continue
        try:
            _record_block(block, facts, file)
        except ArmcheckError as err:
            log.warning("%s: output of %r not read: %s", file, block.command, err)
    return len(blocks)


def _evidence(file: str | None, line: Line, text: str | None = None) -> Evidence:
    return Evidence(LINUX_SHELL, file, line.number, line.time, text or line.text)


def _record_block(block: Block, facts: Facts, file: str | None) -> None:
    command = block.command
    first = block.lines[0]
    values = [line.text.strip() for line in block.lines if line.text.strip()]
    if command == "uname -r" and values:
        facts.add("linux.version", values[0], _evidence(file, first))
    elif command == "cat /proc/cmdline" and values:
        facts.add("linux.cmdline", values[0], _evidence(file, first))
    elif command.startswith("ls /dev/watchdog"):
        devices = [value for value in values if value.startswith("/dev/watchdog")]
        facts.add("watchdog.devices", devices, _evidence(file, first))
    elif command.startswith("cat /sys/class/rtc/"):
        names = [value for value in values if "No such file" not in value]
        if names:
            # The name attribute is the driver, then the device: `rtc-efi rtc-efi.0`.
            facts.add("rtc.driver", names[0].split()[0], _evidence(file, first))
    elif command.startswith("cat /sys/class/watchdog/"):
        names = [value for value in values if "No such file" not in value]
        if names:
            facts.add("watchdog.identity", names[0], _evidence(file, first))
    elif "/sys/firmware/acpi/tables" in command:
        _record_files(block.lines, facts, file, "/sys/firmware/acpi/tables", _acpi_file)
    elif "/sys/firmware/dmi/tables" in command:
        dumped: dict[str, tuple[bytes, Line]] = {}
        _record_files(
            block.lines,
            facts,
            file,
            "/sys/firmware/dmi/tables",
            lambda name, data, line, facts, file: dumped.__setitem__(name, (data, line)),
        )
        _smbios_files(dumped, facts, file)


def _record_files(lines: list[Line], facts: Facts, file: str | None, folder: str, record) -> None:
    """Decode `==> NAME`, md5sum, base64 runs; hand each verified file to `record`."""
    name: str | None = None
    digest: str | None = None
    header: Line | None = None
    chunks: list[str] = []

    def flush() -> None:
        if name is None or header is None:
            return
        try:
            data = base64.b64decode("".join(chunks), validate=True)
        except (binascii.Error, ValueError) as err:
            facts.add(
                "collect.transfer_error",
                f"{folder}/{name}: base64 does not decode ({err})",
                _evidence(file, header),
            )
            return
        if digest is not None and hashlib.md5(data).hexdigest() != digest:
            facts.add(
                "collect.transfer_error",
                f"{folder}/{name}: md5 of the {len(data)} bytes received does not match the "
                "board's md5sum; bytes were lost on the console",
                _evidence(file, header),
            )
            return
        record(name, data, header, facts, file)

    for line in lines:
        # A kernel message printed on the console cuts into a base64 line where
        # it lands. Without it, the base64 text around it still joins up.
        text = _PRINTK_TAIL.sub("", line.text).strip()
        if not text:
            continue
        match = _FILE_HEADER.match(text)
        if match:
            flush()
            name, digest, header, chunks = match.group(1), None, line, []
            continue
        md5 = _MD5_LINE.match(text)
        if md5 and name is not None and not chunks:
            digest = md5.group(1)
            continue
        if name is not None and _BASE64.match(text):
            chunks.append(text)
    flush()


def _acpi_file(name: str, data: bytes, line: Line, facts: Facts, file: str | None) -> None:
    from armcheck.parsers.tables import facts_from_acpi_binary

    evidence = _evidence(file, line, f"/sys/firmware/acpi/tables/{name} ({len(data)} bytes)")
    facts_from_acpi_binary(data, facts, evidence)


def _smbios_files(dumped: dict[str, tuple[bytes, Line]], facts: Facts, file: str | None) -> None:
    from armcheck.parsers.tables import facts_from_smbios_binary

    entry = dumped.get("smbios_entry_point")
    table = dumped.get("DMI")
    if entry is None and table is None:
        return
    line = (entry or table)[1]  # type: ignore[index]
    evidence = _evidence(file, line, "/sys/firmware/dmi/tables")
    if entry is not None:
        facts_from_smbios_binary(entry[0], facts, evidence, table[0] if table else None)
    else:
        facts_from_smbios_binary(table[0], facts, evidence)  # type: ignore[index]
