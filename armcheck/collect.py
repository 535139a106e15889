"""The commands a live run types in the UEFI shell and in the Linux shell.

The run only types commands; the facts come later from the capture, through
the same parsers that `armcheck check` runs on a saved capture. The one place
where the run reads what it collected is the ACPI walk in the UEFI shell: the
address of each table is only known once the table that points to it has
been dumped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from armcheck.acpi.dumps import MemoryImage, read_dmem
from armcheck.acpi.rsdp import AcpiWalk, walk_rsdp
from armcheck.parsers.uefi_shell import MEMMAP_LINE, PROMPT_LINE
from armcheck.transcript import Line, lines_from_bytes

log = logging.getLogger(__name__)

# Commands typed in the UEFI shell, with their timeouts in seconds. `-b` is
# left out on purpose: in the UEFI shell it turns pagination on.
# `date` comes before `time`, so that the time is read with its date.
UEFI_COMMANDS: tuple[tuple[str, float], ...] = (
    ("ver", 10.0),
    ("date", 10.0),
    ("time", 10.0),
    ("sermode", 10.0),
    ("memmap", 20.0),
    ("smbiosview", 60.0),
    ("pci", 30.0),
)

# The tables an XSDT lists usually sit side by side, so one `dmem` of the span
# they cover replaces two per table. Each dmem line shows 16 bytes in about 78
# characters of console output, so a larger span goes table by table instead.
MAX_SPAN_DUMP = 0x10000
# edk2 puts the tables in pages next to the XSDT, mostly below it (on qemu's
# virt machine all nine lie within 10 KiB). So the XSDT is read with a window
# around it, which usually takes the tables in the same `dmem`. The tables
# outside the window are dumped after, as one span when they are close.
XSDT_WINDOW_BELOW = 0x4000
XSDT_WINDOW_ABOVE = 0x200
MAX_TABLE_DUMP = 0x100000
# Each `dmem` costs about 0.2 s in edk2 under qemu whatever its size, because
# the shell echoes each typed character about 10 ms after the last (measured
# in captures under TCG). So a read for a 36-byte header dumps enough for a
# small table (RSDP, XSDT, FACS) too.
MIN_DUMP = 0x200
DMEM_DEFAULT = 0x200
# AML tables are the largest by far (hundreds of KB on servers, about 5 bytes
# of console output each) and no check decodes them. So the UEFI shell walk
# reads only their headers, and when the run goes on to Linux it skips the
# DSDT the FADT points to altogether. Their bytes and checksums come from sysfs.
HEADER_ONLY = (b"DSDT", b"SSDT")

# Under qemu the run puts the same commands, and the `dmem` of the system
# table, in a script on the FAT drive (console/qemu.py), and types only its
# name: about 50 typed characters fewer, at about 10 ms each. The script's
# last line prints UEFI_SCRIPT_DONE, which marks its end for the run.
UEFI_SCRIPT = "a.nsh"
UEFI_SCRIPT_DONE = "armcheck-uefi-script-done"
SYSTEM_TABLE_COMMAND = "dmem"
# The edk2 shell's message for a command it cannot find.
NOT_RECOGNIZED = "is not recognized as an internal or external command"

ShellRunner = Callable[[str, float], str]
ScriptRunner = Callable[[float], list[str]]


@dataclass
class UefiCollection:
    """The UEFI shell session's outputs and ACPI walk, for the run's own decisions."""

    outputs: dict[str, str] = field(default_factory=dict)
    acpi_walk: AcpiWalk | None = None
    problems: list[str] = field(default_factory=list)
    # Commands the shell did not run (not found), as "COMMAND: the shell's message".
    failures: list[str] = field(default_factory=list)


def text_lines(text: str) -> list[Line]:
    return lines_from_bytes(text.encode("utf-8", "replace"))


class ShellMemory:
    """Read firmware memory through `dmem` in the UEFI shell, caching what was dumped."""

    def __init__(self, run: ShellRunner, timeout: float = 60.0) -> None:
        self.run = run
        self.timeout = timeout
        self.image = MemoryImage()
        # Addresses not to dump: reads there return None, as for unreadable memory.
        self.skip: set[int] = set()

    def dump(self, address: int, length: int) -> None:
        # Without a length, dmem shows DMEM_DEFAULT bytes (UEFI Shell 2.2, dmem).
        size = "" if length == DMEM_DEFAULT else f" {length:X}"
        output = self.run(f"dmem {address:X}{size}", self.timeout)
        for block in read_dmem(text_lines(output)).memory.blocks:
            self.image.add(block.address, bytes(block.data))

    def cached(self, address: int, length: int) -> bool:
        data = self.image.read(address, length)
        return data is not None and len(data) == length

    def table_end(self, address: int) -> int | None:
        """Return where the table at `address` ends, from its header if cached; None if not."""
        head = self.image.read(address, 8)
        if head is None or len(head) < 8:
            return None
        if head[:4] in HEADER_ONLY:
            return address + 36
        length = int.from_bytes(head[4:8], "little")
        return address + length if 36 <= length <= MAX_TABLE_DUMP else address + 36

    def read(self, address: int, length: int) -> bytes | None:
        """Return `length` bytes at `address`, dumping what the cache lacks; None if unreadable."""
        if length <= 0 or length > MAX_TABLE_DUMP or address in self.skip:
            return None
        if length > 36 and self.image.read(address, 4) in HEADER_ONLY:
            return None
        cached = self.image.read(address, length) or b""
        if len(cached) < length:
            self.dump(address + len(cached), max(length - len(cached), MIN_DUMP))
            cached = self.image.read(address, length) or b""
        return cached if len(cached) == length else None


def not_recognized(lines: list[str]) -> str | None:
    """Return the shell's "not recognized" message among `lines`, or None."""
    return next((line.strip() for line in lines if NOT_RECOGNIZED in line), None)


def uefi_script_text() -> str:
    """Return the script that runs UEFI_COMMANDS and the system table's `dmem`."""
    commands = [command for command, _ in UEFI_COMMANDS] + [SYSTEM_TABLE_COMMAND]
    return "\n".join([*commands, f"echo {UEFI_SCRIPT_DONE}"]) + "\n"


def uefi_script_timeout() -> float:
    return sum(timeout for _, timeout in UEFI_COMMANDS) + 30.0


def split_script_output(lines: list[str], commands: list[str]) -> dict[str, str]:
    """Split a script's output at the shell's echo of each of `commands`, in order.

    A command whose echo is missing gets no entry.
    """
    outputs: dict[str, list[str]] = {}
    current: list[str] | None = None
    pending = list(commands)
    for line in lines:
        # The shell echoes each line of a script as if it was typed: `Shell> ver`.
        echo = PROMPT_LINE.match(line)
        if echo and pending and echo.group(1).strip() == pending[0]:
            current = outputs.setdefault(pending.pop(0), [])
        elif current is not None:
            current.append(line)
    return {command: "\n".join(output) for command, output in outputs.items()}


def collect_uefi(
    run: ShellRunner,
    on_step: Callable[[str], None] | None = None,
    linux_follows: bool = False,
    run_script: ScriptRunner | None = None,
) -> UefiCollection:
    """Run the UEFI shell commands and walk the ACPI tables with `dmem`.

    With `run_script`, the commands and the system table's `dmem` run from the
    script of uefi_script_text(). With `linux_follows`, the DSDT is left to the
    Linux collection, which reads it whole from sysfs.
    """
    collection = UefiCollection()
    if run_script is not None:
        if on_step:
            on_step("the UEFI shell commands, from a script")
        commands = [command for command, _ in UEFI_COMMANDS] + [SYSTEM_TABLE_COMMAND]
        lines = run_script(uefi_script_timeout())
        collection.outputs = split_script_output(lines, commands)
        for command in commands:
            if command not in collection.outputs:
                collection.problems.append(f"the UEFI shell script did not run {command!r}")
                collection.failures.append(
                    f"{command}: not run by the script ({not_recognized(lines) or 'no echo'})"
                )
    else:
        for command, timeout in UEFI_COMMANDS:
            if on_step:
                on_step(command)
            collection.outputs[command] = run(command, timeout)
        if on_step:
            on_step("dmem (system table)")
        collection.outputs[SYSTEM_TABLE_COMMAND] = run(SYSTEM_TABLE_COMMAND, 30.0)
    for command, output in collection.outputs.items():
        message = not_recognized(output.splitlines())
        if message:
            collection.failures.append(f"{command}: {message}")
    table_output = collection.outputs.pop(SYSTEM_TABLE_COMMAND, "")
    system_table = read_dmem(text_lines(table_output))
    pointer = system_table.pointers.get("acpi20") or system_table.pointers.get("acpi")
    rsdp_address = pointer[0] if pointer else 0
    if not rsdp_address:
        collection.problems.append("the system table shows no ACPI table pointer")
        return collection

    if on_step:
        on_step("ACPI tables")
    memory = ShellMemory(run)
    prefetch_tables(memory, rsdp_address, memory_regions(collection.outputs.get("memmap", "")))
    if linux_follows:
        memory.skip.update(fadt_dsdt_addresses(memory, rsdp_address))
    collection.acpi_walk = walk_rsdp(memory.read, rsdp_address)
    collection.problems.extend(collection.acpi_walk.problems)
    return collection


def memory_regions(memmap: str) -> list[tuple[int, int]]:
    """Return the (start, end) of each region in `memmap` output."""
    regions = []
    for line in memmap.splitlines():
        match = MEMMAP_LINE.match(line)
        if match:
            start, pages = int(match.group(2), 16), int(match.group(3), 16)
            regions.append((start, start + pages * 0x1000))
    return regions


def xsdt_window(address: int, regions: list[tuple[int, int]]) -> tuple[int, int]:
    """Return the (start, end) to dump for the XSDT at `address`.

    The window stays inside the memory map region that contains the XSDT, since
    reading an address outside all regions can fault and stop the firmware.
    With no such region it is the XSDT's first MIN_DUMP bytes.
    """
    for start, end in regions:
        if start <= address < end:
            return max(start, address - XSDT_WINDOW_BELOW), min(end, address + XSDT_WINDOW_ABOVE)
    return address, address + MIN_DUMP


def prefetch_tables(
    memory: ShellMemory, rsdp_address: int, regions: list[tuple[int, int]] | None = None
) -> None:
    """Dump the RSDP, then the XSDT with the tables it lists, in as few `dmem` as it takes.

    `regions` is the memory map (memory_regions), which bounds the window read
    around the XSDT.
    """
    rsdp = memory.read(rsdp_address, 36)
    if rsdp is None or rsdp[:8] != b"RSD PTR ":
        return
    xsdt_address = int.from_bytes(rsdp[24:32], "little")
    if not xsdt_address:
        return
    if memory.image.read(xsdt_address, 36) is None:
        low, high = xsdt_window(xsdt_address, regions or [])
        memory.dump(low, high - low)
    head = memory.read(xsdt_address, 36)
    if head is None or head[:4] != b"XSDT":
        return
    length = int.from_bytes(head[4:8], "little")
    xsdt = memory.read(xsdt_address, length) if 36 <= length <= MAX_TABLE_DUMP else None
    if xsdt is None:
        return
    entries = [
        int.from_bytes(xsdt[offset : offset + 8], "little") for offset in range(36, length - 7, 8)
    ]
    missing: list[tuple[int, int]] = []
    for entry in filter(None, entries):
        end = memory.table_end(entry)
        if end is None:
            missing.append((entry, entry + MIN_DUMP))
        elif not memory.cached(entry, end - entry):
            missing.append((entry, end))
    if not missing:
        return
    low, high = min(start for start, _ in missing), max(end for _, end in missing)
    if high - low <= MAX_SPAN_DUMP:
        memory.dump(low, high - low)


def fadt_dsdt_addresses(memory: ShellMemory, rsdp_address: int) -> set[int]:
    """Return the DSDT addresses (DSDT and X_DSDT) of a FADT already in the dump cache."""
    rsdp = memory.image.read(rsdp_address, 36)
    if rsdp is None or len(rsdp) < 32:
        return set()
    xsdt_address = int.from_bytes(rsdp[24:32], "little")
    head = memory.image.read(xsdt_address, 36) or b""
    length = int.from_bytes(head[4:8], "little") if len(head) >= 8 else 0
    xsdt = memory.image.read(xsdt_address, length) or b""
    for offset in range(36, len(xsdt) - 7, 8):
        fadt = memory.image.read(int.from_bytes(xsdt[offset : offset + 8], "little"), 148)
        if fadt is not None and fadt[:4] == b"FACP":
            # ACPI 6.5, FADT: DSDT at offset 40 (4 bytes), X_DSDT at offset 140 (8 bytes).
            addresses = {int.from_bytes(fadt[40:44], "little")}
            if len(fadt) >= 148:
                addresses.add(int.from_bytes(fadt[140:148], "little"))
            return addresses - {0}
    return set()


# Commands typed in the Linux shell. Tables travel as base64 with an md5sum
# each, so a byte lost on the console shows as a checksum mismatch instead of
# a silently wrong table. The loops end with the status of a failed md5sum or
# base64 (127 when the board lacks the tool), so the run can report it.
LINUX_COMMANDS: tuple[tuple[str, float], ...] = (
    ("uname -r", 10.0),
    ("cat /proc/cmdline", 10.0),
    ("ls /dev/watchdog*", 10.0),
    ("cat /sys/class/rtc/*/name", 10.0),
    ("cat /sys/class/watchdog/*/identity", 10.0),
    (
        'cd /sys/firmware/acpi/tables && for f in *; do [ -f "$f" ] && '
        '{ echo "==> $f"; md5sum "$f" || ac_s=$?; base64 "$f" || ac_s=$?; }; done; '
        "cd /; (exit ${ac_s:-0})",
        120.0,
    ),
    (
        'cd /sys/firmware/dmi/tables && for f in smbios_entry_point DMI; do [ -f "$f" ] && '
        '{ echo "==> $f"; md5sum "$f" || ac_s=$?; base64 "$f" || ac_s=$?; }; done; '
        "cd /; (exit ${ac_s:-0})",
        60.0,
    ),
    ("dmesg", 60.0),
)
