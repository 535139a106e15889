"""The UEFI shell collection: the script's output split per command, and the ACPI walk.

The walk runs against a fake shell that serves `dmem ADDRESS [LENGTH]` from a
memory image laid out as edk2 lays out qemu's tables, in the format of edk2's
dmem. It counts the dumps, and it fails the test on a read outside the memory
map, as such a read can stop real firmware.
"""

from __future__ import annotations

import struct

import pytest

from armcheck.collect import (
    DMEM_DEFAULT,
    UEFI_COMMANDS,
    UEFI_SCRIPT_DONE,
    collect_uefi,
    memory_regions,
    split_script_output,
    uefi_script_text,
    xsdt_window,
)

REGION = (0x7C430000, 0x7C440000)
RSDP = 0x7C430018
XSDT = 0x7C43FE98


def table(signature: bytes, length: int) -> bytes:
    body = signature + struct.pack("<IB", length, 2) + bytes(length - 9)
    checksum = (-sum(body)) & 0xFF
    return body[:9] + bytes([checksum]) + body[10:]


def memory_layout(tables: dict[int, bytes]) -> dict[int, bytes]:
    entries = b"".join(struct.pack("<Q", address) for address in tables)
    xsdt = bytearray(table(b"XSDT", 36 + len(entries)))
    xsdt[36:] = entries
    xsdt[9] = (-sum(xsdt[:9] + xsdt[10:])) & 0xFF
    rsdp = b"RSD PTR " + bytes(7) + b"\x02" + bytes(8) + struct.pack("<Q", XSDT) + bytes(4)
    return {RSDP: rsdp, XSDT: bytes(xsdt), **tables}


class FakeShell:
    """A shell serving dmem from a memory image. A read outside `regions` fails the test."""

    def __init__(self, memory: dict[int, bytes], regions: list[tuple[int, int]]) -> None:
        self.memory = memory
        self.regions = regions
        self.commands: list[str] = []

    def byte(self, address: int) -> int:
        for start, data in self.memory.items():
            if start <= address < start + len(data):
                return data[address - start]
        return 0

    def run(self, command: str, timeout: float) -> str:
        self.commands.append(command)
        words = command.split()
        if words == ["dmem"]:
            return f"Valid EFI Header at Address 000000007FFD0018\nACPI 2.0 Table   {RSDP:016X}\n"
        assert words[0] == "dmem", command
        address = int(words[1], 16)
        length = int(words[2], 16) if len(words) > 2 else DMEM_DEFAULT
        assert any(start <= address and address + length <= end for start, end in self.regions), (
            f"{command} reads outside the memory map"
        )
        lines = [f"Memory Address {address:016X} {length:X} Bytes"]
        for row in range(address, address + length, 16):
            data = bytes(self.byte(a) for a in range(row, min(row + 16, address + length)))
            left = " ".join(f"{b:02X}" for b in data[:8])
            right = " ".join(f"{b:02X}" for b in data[8:])
            lines.append(f"  {row:08X}: {left}-{right}  *{'.' * len(data)}*")
        return "\n".join(lines)


def memmap_text(regions: list[tuple[int, int]]) -> str:
    rows = ["Type       Start            End              # Pages          Attributes"]
    for start, end in regions:
        pages = (end - start) // 0x1000
        rows.append(f"ACPI_Recl  {start:016X}-{end - 1:016X} {pages:016X} 0000000000000008")
    return "\n".join(rows)


def run_walk(shell: FakeShell, regions: list[tuple[int, int]]):
    outputs = {command: "" for command, _ in UEFI_COMMANDS}
    outputs["memmap"] = memmap_text(regions)

    def run(command: str, timeout: float) -> str:
        if command in outputs:
            return outputs[command]
        return shell.run(command, timeout)

    return collect_uefi(run)


def qemu_like_tables() -> dict[int, bytes]:
    # The layout edk2 gives qemu virt's tables: around the XSDT, mostly below it.
    return {
        0x7C43FA98: table(b"FACP", 0x114),
        0x7C43FC18: table(b"APIC", 0xFC),
        0x7C43D898: table(b"GTDT", 0x60),
        0x7C43E818: table(b"SPCR", 0x50),
        0x7C43FF98: table(b"MCFG", 0x3C),
    }


def test_walk_xsdt_window_takes_tables() -> None:
    shell = FakeShell(memory_layout(qemu_like_tables()), [REGION])
    collection = run_walk(shell, [REGION])
    dumps = [command for command in shell.commands if command != "dmem"]
    # The RSDP (default length), then one window around the XSDT contains everything.
    assert dumps[0] == f"dmem {RSDP:X}"
    assert len(dumps) == 2
    assert collection.acpi_walk is not None
    signatures = {found.signature for found in collection.acpi_walk.tables}
    assert {"XSDT", "FACP", "APIC", "GTDT", "SPCR", "MCFG"} <= signatures


def test_walk_dumps_tables_outside_the_window_afterwards() -> None:
    far = 0x7C431000
    tables = {**qemu_like_tables(), far: table(b"IORT", 0x80)}
    shell = FakeShell(memory_layout(tables), [REGION])
    collection = run_walk(shell, [REGION])
    assert collection.acpi_walk is not None
    assert "IORT" in {found.signature for found in collection.acpi_walk.tables}
    assert any(command.startswith(f"dmem {far:X}") for command in shell.commands)


def test_walk_without_memmap_reads_xsdt() -> None:
    # No memmap: the window cannot be bounded, so nothing is read around the XSDT.
    shell = FakeShell(memory_layout(qemu_like_tables()), [(0x40000000, 0x80000000)])
    outputs = {command: "" for command, _ in UEFI_COMMANDS}

    def run(command: str, timeout: float) -> str:
        return outputs[command] if command in outputs else shell.run(command, timeout)

    collection = collect_uefi(run)
    assert f"dmem {XSDT:X}" in shell.commands
    assert collection.acpi_walk is not None
    assert "SPCR" in {found.signature for found in collection.acpi_walk.tables}


def test_xsdt_window_stays_in_its_region() -> None:
    regions = memory_regions(memmap_text([(0x7C43E000, 0x7C440000)]))
    assert regions == [(0x7C43E000, 0x7C440000)]
    low, high = xsdt_window(XSDT, regions)
    assert low == 0x7C43E000
    assert high == 0x7C440000
    assert xsdt_window(0x1000, regions) == (0x1000, 0x1000 + 0x200)


def test_script_runs_the_commands_then_prints_done() -> None:
    lines = uefi_script_text().splitlines()
    assert lines[: len(UEFI_COMMANDS)] == [command for command, _ in UEFI_COMMANDS]
    assert lines[-2:] == ["dmem", f"echo {UEFI_SCRIPT_DONE}"]


def test_split_script_output_by_echo() -> None:
    output = [
        "Shell> ver",
        "UEFI Interactive Shell v2.2",
        "FS0:\\> time",
        "21:57:39 (LOCAL)",
        "Shell> time is not an echo of the next command",
        "Shell> dmem",
        "ACPI 2.0 Table   000000007C430018",
    ]
    outputs = split_script_output(output, ["ver", "time", "dmem"])
    assert outputs["ver"] == "UEFI Interactive Shell v2.2"
    assert outputs["time"].splitlines() == [
        "21:57:39 (LOCAL)",
        "Shell> time is not an echo of the next command",
    ]
    assert outputs["dmem"] == "ACPI 2.0 Table   000000007C430018"


def test_script_collection_reports_missing_commands() -> None:
    def run(command: str, timeout: float) -> str:
        pytest.fail(f"typed {command!r} although the script ran")

    collection = collect_uefi(run, run_script=lambda timeout: ["Shell> ver", "UEFI v2.70"])
    assert collection.outputs == {"ver": "UEFI v2.70"}
    assert "the UEFI shell script did not run 'memmap'" in collection.problems
    assert "the system table shows no ACPI table pointer" in collection.problems
