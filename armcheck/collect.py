"""What a live run collects in the UEFI shell and in the Linux shell.

The run only types commands; the facts come later from the capture, through
the same parsers that `armcheck check` runs on a saved capture. The one place
where the run reads what it collected is the ACPI walk in the UEFI shell: the
address of each table is only known once the table that points to it has
been dumped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from armcheck.acpi.dumps import MemoryImage, read_dmem
from armcheck.acpi.rsdp import AcpiWalk, walk_rsdp
from armcheck.transcript import Line, lines_from_bytes

log = logging.getLogger(__name__)

# Commands typed in the UEFI shell, with their timeouts in seconds. `-b` is
# left out on purpose: in the UEFI shell it turns pagination on.
UEFI_COMMANDS: tuple[tuple[str, float], ...] = (
    ("ver", 10.0),
    ("time", 10.0),
    ("date", 10.0),
    ("sermode", 10.0),
    ("memmap", 20.0),
    ("smbiosview", 60.0),
    ("pci", 30.0),
)

# One `dmem` of a whole ACPI reclaim region is faster than one per table on a
# fast console (qemu); on a 115200 baud line, a hex dump costs about 5 bytes
# of console output per table byte, so larger regions go table by table.
MAX_REGION_DUMP = 0x10000
MAX_TABLE_DUMP = 0x100000

_MEMMAP_RANGE = re.compile(
    r"^(ACPI_Recl|ACPI_NVS|ACPI_Reclaim\w*)\s+([0-9A-Fa-f]{8,16})-([0-9A-Fa-f]{8,16})\s"
)

ShellRunner = Callable[[str, float], str]


@dataclass
class UefiCollection:
    """What the UEFI shell session produced, for the run's own decisions."""

    outputs: dict[str, str] = field(default_factory=dict)
    acpi_walk: AcpiWalk | None = None
    problems: list[str] = field(default_factory=list)


def text_lines(text: str) -> list[Line]:
    return lines_from_bytes(text.encode("utf-8", "replace"))


def acpi_regions(memmap_output: str) -> list[tuple[int, int]]:
    """Return (start, length) of the ACPI memory ranges in `memmap` output."""
    regions = []
    for line in memmap_output.splitlines():
        match = _MEMMAP_RANGE.match(line.strip())
        if match:
            start, end = int(match.group(2), 16), int(match.group(3), 16)
            regions.append((start, end - start + 1))
    return regions


class ShellMemory:
    """Read firmware memory through `dmem` in the UEFI shell, caching what was dumped."""

    def __init__(self, run: ShellRunner, timeout: float = 60.0) -> None:
        self.run = run
        self.timeout = timeout
        self.image = MemoryImage()

    def dump(self, address: int, length: int) -> None:
        output = self.run(f"dmem {address:X} {length:X}", self.timeout)
        for block in read_dmem(text_lines(output)).memory.blocks:
            self.image.add(block.address, bytes(block.data))

    def read(self, address: int, length: int) -> bytes | None:
        if length <= 0 or length > MAX_TABLE_DUMP:
            return None
        cached = self.image.read(address, length)
        if cached is not None:
            return cached
        self.dump(address, length)
        return self.image.read(address, length)


def collect_uefi(run: ShellRunner, on_step: Callable[[str], None] | None = None) -> UefiCollection:
    """Run the UEFI shell commands and walk the ACPI tables with `dmem`."""
    collection = UefiCollection()
    for command, timeout in UEFI_COMMANDS:
        if on_step:
            on_step(command)
        collection.outputs[command] = run(command, timeout)

    if on_step:
        on_step("dmem (system table)")
    system_table = read_dmem(text_lines(run("dmem", 30.0)))
    pointer = system_table.pointers.get("acpi20") or system_table.pointers.get("acpi")
    rsdp_address = pointer[0] if pointer else 0
    if not rsdp_address:
        collection.problems.append("the system table shows no ACPI table pointer")
        return collection

    memory = ShellMemory(run)
    for start, length in acpi_regions(collection.outputs.get("memmap", "")):
        if start <= rsdp_address < start + length and length <= MAX_REGION_DUMP:
            if on_step:
                on_step(f"dmem {start:X} {length:X} (ACPI region)")
            memory.dump(start, length)
    if on_step:
        on_step("ACPI tables")
    collection.acpi_walk = walk_rsdp(memory.read, rsdp_address)
    collection.problems.extend(collection.acpi_walk.problems)
    return collection


# Commands typed in the Linux shell. Tables travel as base64 with an md5sum
# each, so a byte lost on the console shows as a checksum mismatch instead of
# a silently wrong table.
LINUX_COMMANDS: tuple[tuple[str, float], ...] = (
    ("uname -r", 10.0),
    ("cat /proc/cmdline", 10.0),
    ("ls /dev/watchdog*", 10.0),
    ("cat /sys/class/rtc/*/name", 10.0),
    ("cat /sys/class/watchdog/*/identity", 10.0),
    (
        "cd /sys/firmware/acpi/tables && for f in *; do [ -f \"$f\" ] && "
        "{ echo \"==> $f\"; md5sum \"$f\"; base64 \"$f\"; }; done; cd /",
        120.0,
    ),
    (
        "cd /sys/firmware/dmi/tables && for f in smbios_entry_point DMI; do [ -f \"$f\" ] && "
        "{ echo \"==> $f\"; md5sum \"$f\"; base64 \"$f\"; }; done; cd /",
        60.0,
    ),
    ("dmesg", 60.0),
)
