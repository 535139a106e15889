"""Record the qemu captures in this folder with armcheck's own qemu target and shell helpers.

Run from the repository root, with the Linux guest built (`make guest`):

    .venv/bin/python captures/record.py              # all recordings
    .venv/bin/python captures/record.py qemu-virt-edk2-shell

Each recording boots qemu once and writes captures/NAME.cast.
"""

from __future__ import annotations

import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.shells import LinuxShell, UefiShell
from armcheck.target_files import builtin_target
from armcheck.targets import open_console

FOLDER = Path(__file__).resolve().parent
HEX_LINE = re.compile(r"^\s*([0-9A-Fa-f]+): ((?:[0-9A-Fa-f]{2}[ -]){1,16})")
ACPI_POINTER = re.compile(r"ACPI 2\.0 Table\s+([0-9A-Fa-f]+)")
LINUX_COMMANDS = (
    "uname -a",
    "cat /proc/cmdline",
    "ls /sys/firmware/acpi/tables",
    "cat /sys/class/rtc/rtc0/name",
    "ls /dev/watchdog*",
    "base64 /sys/firmware/acpi/tables/SPCR",
)


def dmem_bytes(output: str) -> bytes:
    """Return the bytes of a `dmem ADDRESS SIZE` dump, in address order."""
    data = b""
    for line in output.splitlines():
        found = HEX_LINE.match(line)
        if found is not None:
            data += bytes.fromhex(found.group(2).replace("-", " "))
    return data


def uefi_session(shell: UefiShell) -> None:
    """Run the UEFI shell commands armcheck collects, then dump every ACPI table."""
    for command in ("ver", "time", "date", "memmap", "smbiosview"):
        shell.run(command, 120)
    system_table = shell.run("dmem", 30)
    found = ACPI_POINTER.search(system_table)
    if found is None:
        raise SystemExit("no ACPI 2.0 table pointer in the dmem output")
    rsdp = dmem_bytes(shell.run(f"dmem {found.group(1)} 24", 30))
    # In the ACPI 2.0+ RSDP, XsdtAddress is the 8-byte field at offset 24.
    xsdt_address = struct.unpack_from("<Q", rsdp, 24)[0]
    xsdt = dump_table(shell, xsdt_address)
    # XSDT: a 36-byte header, then 8-byte table addresses.
    for offset in range(36, len(xsdt), 8):
        dump_table(shell, struct.unpack_from("<Q", xsdt, offset)[0])


def dump_table(shell: UefiShell, address: int) -> bytes:
    """Dump one ACPI table: its header first for the length, then the whole table."""
    header = dmem_bytes(shell.run(f"dmem {address:X} 24", 30))
    length = struct.unpack_from("<I", header, 4)[0]
    return dmem_bytes(shell.run(f"dmem {address:X} {length:X}", 60))


def linux_session(console: Console) -> None:
    shell = LinuxShell(console)
    shell.reach(120)
    shell.run("dmesg", 60, strip_printk=False)
    for command in LINUX_COMMANDS:
        shell.run(command, 60)
    shell.power_off(30)


def record(name: str, target_name: str, guest: bool, session: Callable[[Console], None]) -> None:
    target = builtin_target(target_name)
    assert target is not None
    target.qemu["guest"] = guest
    path = FOLDER / f"{name}.cast"
    capture = CaptureWriter(path, target=target.name)
    console = open_console(target, capture)
    try:
        session(console)
    finally:
        console.close()
        capture.close()
    print(f"{path}: {path.stat().st_size} bytes")


def edk2_shell(console: Console) -> None:
    shell = UefiShell(console)
    shell.reach(60)
    uefi_session(shell)


def edk2_linux(console: Console) -> None:
    shell = UefiShell(console)
    shell.reach(60)
    shell.run("ver", 30)
    boot = console.transport.linux  # type: ignore[attr-defined]
    shell.start_linux(boot.shell_command(), 30)
    linux_session(console)


RECORDINGS: dict[str, tuple[str, bool, Callable[[Console], None]]] = {
    "qemu-virt-edk2-shell": ("qemu-virt", False, edk2_shell),
    "qemu-virt-gicv3-edk2-shell": ("qemu-virt-gicv3", False, edk2_shell),
    "qemu-virt-edk2-linux": ("qemu-virt", True, edk2_linux),
    "qemu-virt-uboot-linux": ("qemu-virt-uboot", True, linux_session),
}


def main(names: list[str]) -> None:
    for name in names or list(RECORDINGS):
        if name not in RECORDINGS:
            raise SystemExit(f"unknown recording {name}; choose from {', '.join(RECORDINGS)}")
        target_name, guest, session = RECORDINGS[name]
        record(name, target_name, guest, session)


if __name__ == "__main__":
    main(sys.argv[1:])
