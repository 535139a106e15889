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

# The tables an XSDT lists usually sit side by side, so one `dmem` of the span
# they cover replaces two per table. Each dmem line shows 16 bytes in about 78
# characters of console output, so a larger span goes table by table instead.
MAX_SPAN_DUMP = 0x10000
# A margin past the start of the last table, to take its body in the same dump.
SPAN_TAIL = 0x1000
MAX_TABLE_DUMP = 0x100000
# Each `dmem` costs about 0.2 s in edk2 under qemu whatever its size, because
# the shell echoes each typed character about 10 ms after the last (measured
# in captures under TCG). So a read for a 36-byte header dumps enough for a
# small table (RSDP, XSDT, FACS) too.
MIN_DUMP = 0x200
# AML tables are the largest by far (hundreds of KB on servers, about 5 bytes
# of console output each) and no check decodes them. So the UEFI shell walk
# reads only their headers, and when the run goes on to Linux it skips the
# DSDT the FADT points to altogether. Their bytes and checksums come from sysfs.
HEADER_ONLY = (b"DSDT", b"SSDT")

ShellRunner = Callable[[str, float], str]


@dataclass
class UefiCollection:
    """The UEFI shell session's outputs and ACPI walk, for the run's own decisions."""

    outputs: dict[str, str] = field(default_factory=dict)
    acpi_walk: AcpiWalk | None = None
    problems: list[str] = field(default_factory=list)


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
        output = self.run(f"dmem {address:X} {length:X}", self.timeout)
        for block in read_dmem(text_lines(output)).memory.blocks:
            self.image.add(block.address, bytes(block.data))

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


def collect_uefi(
    run: ShellRunner,
    on_step: Callable[[str], None] | None = None,
    linux_follows: bool = False,
) -> UefiCollection:
    """Run the UEFI shell commands and walk the ACPI tables with `dmem`.

    With `linux_follows`, the DSDT is left to the Linux collection, which reads
    it whole from sysfs.
    """
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

    if on_step:
        on_step("ACPI tables")
    memory = ShellMemory(run)
    prefetch_tables(memory, rsdp_address)
    if linux_follows:
        memory.skip.update(fadt_dsdt_addresses(memory, rsdp_address))
    collection.acpi_walk = walk_rsdp(memory.read, rsdp_address)
    collection.problems.extend(collection.acpi_walk.problems)
    return collection


def prefetch_tables(memory: ShellMemory, rsdp_address: int) -> None:
    """Dump the RSDP, the XSDT, and the span of the tables it lists in one go when small."""
    rsdp = memory.read(rsdp_address, 36)
    if rsdp is None or rsdp[:8] != b"RSD PTR ":
        return
    xsdt_address = int.from_bytes(rsdp[24:32], "little")
    head = memory.read(xsdt_address, 36) if xsdt_address else None
    if head is None or head[:4] != b"XSDT":
        return
    length = int.from_bytes(head[4:8], "little")
    xsdt = memory.read(xsdt_address, length) if 36 <= length <= MAX_TABLE_DUMP else None
    if xsdt is None:
        return
    entries = [
        int.from_bytes(xsdt[offset : offset + 8], "little") for offset in range(36, length - 7, 8)
    ]
    entries = [entry for entry in entries if entry]
    if not entries:
        return
    low, high = min(entries), max(entries) + SPAN_TAIL
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
# a silently wrong table.
LINUX_COMMANDS: tuple[tuple[str, float], ...] = (
    ("uname -r", 10.0),
    ("cat /proc/cmdline", 10.0),
    ("ls /dev/watchdog*", 10.0),
    ("cat /sys/class/rtc/*/name", 10.0),
    ("cat /sys/class/watchdog/*/identity", 10.0),
    (
        'cd /sys/firmware/acpi/tables && for f in *; do [ -f "$f" ] && '
        '{ echo "==> $f"; md5sum "$f"; base64 "$f"; }; done; cd /',
        120.0,
    ),
    (
        'cd /sys/firmware/dmi/tables && for f in smbios_entry_point DMI; do [ -f "$f" ] && '
        '{ echo "==> $f"; md5sum "$f"; base64 "$f"; }; done; cd /',
        60.0,
    ),
    ("dmesg", 60.0),
)
