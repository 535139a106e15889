"""The streaming scanner: the prefilter loses no fact, and hostile input stays harmless."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from armcheck.facts import Facts
from armcheck.inputs import read_facts
from armcheck.parsers.prefilter import is_candidate
from armcheck.parsers.stream import LogParser, scan_blocks

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
LOGS = sorted(FIXTURES.glob("*.log"))


def every_line_facts(path: Path) -> Facts:
    """Parse each line of `path` with no prefilter at all."""
    facts = Facts()
    parser = LogParser(facts, str(path))
    text = path.read_bytes().decode("utf-8", "replace")
    for number, line in enumerate(text.split("\n"), 1):
        parser.feed(number, line.rstrip("\r").rstrip(" "))
    parser.finish()
    return facts


def scanned_facts(path: Path, block_size: int) -> Facts:
    facts = Facts()
    parser = LogParser(facts, str(path))
    data = path.read_bytes()
    blocks = [data[i : i + block_size] for i in range(0, len(data), block_size)]
    scan_blocks(blocks, parser)
    return facts


def as_plain(facts: Facts) -> dict[str, list[tuple[object, int | None]]]:
    return {key: [(obs.value, obs.evidence.line) for obs in facts.all(key)] for key in facts.keys()}


@pytest.mark.parametrize("path", LOGS, ids=[path.name for path in LOGS])
@pytest.mark.parametrize("block_size", [1 << 20, 333])
def test_prefilter_keeps_every_fact(path: Path, block_size: int) -> None:
    assert as_plain(scanned_facts(path, block_size)) == as_plain(every_line_facts(path))


REPEATS = (
    b"[    0.000000] Linux version 6.1.0-57-arm64 (gcc 12)\n"
    b"[    0.000000][    T0] ACPI: SPCR 0x000000007C430000 000050 (v02 BOCHS  BXPC)\n"
    b"[    0.100000] [Firmware Bug]: APIC: a note\n"
    b"[    0.200000] ACPI Error: caf\xc3\xa9 in UTF-8 (20220331/psargs-330)\n"
    b"[    0.300000] rtc-efi rtc-efi.0: registered as rtc0\n"
    b"[    0.400000] \n"
)


@pytest.mark.parametrize("path", LOGS, ids=[path.name for path in LOGS])
def test_repeated_log_keeps_every_fact(path: Path, tmp_path: Path) -> None:
    # The scanner skips a repeated printk message before decoding it; the
    # parsers must end with the facts they give when they read every line.
    repeated = tmp_path / path.name
    repeated.write_bytes((path.read_bytes().rstrip(b"\n") + b"\n" + REPEATS) * 3)
    for block_size in (1 << 20, 333):
        assert as_plain(scanned_facts(repeated, block_size)) == as_plain(every_line_facts(repeated))


def test_repeated_problem_lines_all_counted(tmp_path: Path) -> None:
    path = tmp_path / "loop.log"
    path.write_bytes(REPEATS * 4)
    summary = scanned_facts(path, 1 << 20).summary()
    assert summary["linux.firmware_bugs"] == 4
    assert summary["linux.acpi_errors"] == 4


@pytest.mark.parametrize(
    "line",
    [
        "[    0.000000] psci: PSCIv1.1 detected in firmware.",
        "[    0.000000][    T0] efi: EFI v2.70 by American Megatrends",
        "> [    1.314857] printk: console [ttyS0] enabled",
        "12:00:01.250 U-Boot 2023.07 (Jul 11 2023 - 15:20:44 +0000)",
        "[0.512000 0.001000] [    1.88] rtc-efi rtc-efi.0: registered as rtc0",
        "[10:00:00.360000 0.015000] UEFI firmware (version 1.0 built at 13:10:49 on Nov  5 2024)",
        "2024-05-01 10:00:00.360 UEFI firmware (version 1.0 built at 13:10:49 on Nov  5 2024)",
        '2024-05-01 10:00:00,375 BdsDxe: loading Boot0002 "EFI Internal Shell"',
        "May 01 10:00:00.390000 Shell> ",
        "May  1 10:00:00 U-Boot 2023.07 (Jul 11 2023 - 15:20:44 +0000)",
        "\ufffdU-Boot SPL 2023.07 (Jul 11 2023 - 15:20:44 +0000)",
        "orange-pi-zero2 login: ",
        "[1.050000 0.015000] orange-pi-zero2 login: ",
        "[2024-05-01 10:00:01.050] orange-pi-zero2 login: ",
    ],
)
def test_prefilter_passes_fact_line(line: str) -> None:
    assert is_candidate(line)


# Host timestamps that capturing tools write in front of each console line,
# as functions of the line's index.
HOST_STAMPS = {
    "grabserial-t": lambda n: f"[{n * 0.015:.6f} 0.015000] ",
    "grabserial-T": lambda n: f"[10:00:{n // 100:02d}.{n % 100:02d}0000 0.015000] ",
    "bracket-clock": lambda n: f"[10:00:{n // 100:02d}.{n % 100:02d}0] ",
    "clock": lambda n: f"10:00:{n // 100:02d}.{n % 100:02d}0 ",
    "iso": lambda n: f"2024-05-01T10:00:{n // 100:02d}.{n % 100:02d}0Z ",
    "iso-space": lambda n: f"2024-05-01 10:00:{n // 100:02d}.{n % 100:02d}0 ",
    "python-logging": lambda n: f"2024-05-01 10:00:{n // 100:02d},{n % 100:02d}0 ",
    "ts": lambda n: f"May 01 10:00:{n // 100:02d}.{n % 100:02d}0000 ",
}


@pytest.mark.parametrize("stamp", HOST_STAMPS, ids=list(HOST_STAMPS))
@pytest.mark.parametrize("path", LOGS, ids=[path.name for path in LOGS])
def test_prefilter_keeps_stamped_facts(path: Path, stamp: str, tmp_path: Path) -> None:
    prefix = HOST_STAMPS[stamp]
    lines = path.read_bytes().decode("utf-8", "replace").split("\n")
    stamped = tmp_path / path.name
    stamped.write_text("\n".join(prefix(n) + line for n, line in enumerate(lines)))
    expected = as_plain(every_line_facts(stamped))
    assert as_plain(scanned_facts(stamped, 1 << 20)) == expected
    assert as_plain(scanned_facts(stamped, 333)) == expected


@pytest.mark.parametrize(
    "line",
    [
        "[    0.000000]   node   0: [mem 0x0000000000500000-0x0000000000dfffff]",
        "[    0.005669] GICv3: CPU1: using allocated LPI pending table @0x0000000100290000",
        "[    6.440133] ACPI: bus type USB registered",
        "Starting syslogd: OK",
    ],
)
def test_prefilter_skips_plain_line(line: str) -> None:
    assert not is_candidate(line)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_hostile_random_bytes_rejected(tmp_path: Path) -> None:
    from armcheck.errors import InputFormatError

    path = write(tmp_path, "random.bin", random.Random(7).randbytes(200_000))
    with pytest.raises(InputFormatError, match="random.bin"):
        read_facts([path])


def test_hostile_long_line_split(tmp_path: Path) -> None:
    # 50 MB with no line feed, then a fact: the scanner reads the line in
    # MAX_LINE_CHARS pieces, which all count as line 1, and finds the fact after it.
    size = 50 * 1024 * 1024
    path = tmp_path / "long.log"
    with open(path, "wb") as file:
        chunk = b"A" * (1 << 20)
        for _ in range(size // len(chunk)):
            file.write(chunk)
        file.write(b"\n[    1.0] psci: PSCIv1.1 detected in firmware.\n")
    facts = read_facts([path])
    assert facts.value("psci.version") == "1.1"
    assert facts.first("psci.version").evidence.line == 2


def test_hostile_escape_storm(tmp_path: Path) -> None:
    rng = random.Random(11)
    pieces = [b"\x1b[", b"\x1b]0;", b"\x1b", b"\r", b"\x08", b"\x00", b"[2J", b"\x1b[31m", b"x"]
    storm = b"".join(rng.choice(pieces) for _ in range(200_000))
    data = storm + b"\n[    0.1] Linux version 6.1.0 (x)\n" + storm
    facts = read_facts([write(tmp_path, "storm.log", data)])
    assert facts.value("linux.version") == "6.1.0"


def test_hostile_unfinished_escape_at_end(tmp_path: Path) -> None:
    data = b"[    0.1] Linux version 6.1.0 (x)\n\x1b]0;title without end" + b"y" * 100_000
    facts = read_facts([write(tmp_path, "tail.log", data)])
    assert facts.value("linux.version") == "6.1.0"


def test_hostile_shell_block_without_end(tmp_path: Path) -> None:
    # A `memmap` prompt followed by a huge output and no further prompt.
    lines = [b"Shell> memmap"] + [b"Available  0000000040000000-00000000403FFFFF"] * 50_000
    facts = read_facts([write(tmp_path, "shell.log", b"\n".join(lines) + b"\n")])
    assert isinstance(facts.inputs[0]["lines"], int)


def test_scan_memory_flat(tmp_path: Path) -> None:
    """Reading a 64 MB log keeps the peak allocation under 20 MB."""
    import tracemalloc

    source = (FIXTURES / "thunderx-acpi-oops.log").read_bytes()
    path = tmp_path / "big.log"
    with open(path, "wb") as file:
        while file.tell() < 64 * 1024 * 1024:
            file.write(source)
    tracemalloc.start()
    try:
        read_facts([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    os.remove(path)


TABLES = Path(__file__).parent / "fixtures" / "tables" / "qemu-virt"


def test_hostile_truncated_table_partial(tmp_path: Path) -> None:
    data = (TABLES / "spcr.dat").read_bytes()[:50]
    facts = read_facts([write(tmp_path, "spcr-cut.dat", data)])
    assert facts.summary()["acpi.tables"] == ["SPCR"]
    assert facts.inputs[0]["kind"] == "acpi-binary"


def test_hostile_table_bad_checksum_kept(tmp_path: Path) -> None:
    data = bytearray((TABLES / "spcr.dat").read_bytes())
    data[9] ^= 0x55
    facts = read_facts([write(tmp_path, "spcr-bad.dat", bytes(data))])
    assert facts.value("acpi.table")["checksum_ok"] is False


def test_hostile_table_length_too_small(tmp_path: Path) -> None:
    # A length field below the header size is a damaged table, reported as such.
    data = b"SPCR" + (8).to_bytes(4, "little") + bytes(40)
    table = read_facts([write(tmp_path, "spcr-short.dat", data)]).value("acpi.table")
    assert table["signature"] == "SPCR"
    assert "length field 8 is shorter than the 36-byte header" in table["problems"]


def test_long_line_in_block_read_in_pieces(tmp_path: Path) -> None:
    data = b"[    1.0] " + b"x" * 200_000 + b": [Firmware Bug]: late note\n"
    data += b"[    2.0] psci: PSCIv1.1 detected in firmware.\n"
    facts = read_facts([write(tmp_path, "long-line.log", data)])
    assert facts.first("linux.firmware_bug").evidence.line == 1
    assert facts.first("psci.version").evidence.line == 2


SHELL_SESSION = (
    b"UEFI Interactive Shell v2.2\r\n"
    b"\x1b[50;01HShell> dmem 7C430018 24\r\n"
    b"Memory Address 000000007C430018 24 Bytes\r\n"
    b"  7C430018: 52 53 44 20 50 54 52 20-50 42 4F 43 48 53 20 02  *RSD PTR PBOCHS .*\r\n"
    b"  7C430028: 00 00 00 00 24 00 00 00-98 FE 43 7C 00 00 00 00  *....$.....C|....*\r\n"
    b"12:00:01.250 a line with a host timestamp\r\n"
    b"Dec  4 20:00:01 host kernel: a line with a syslog stamp\r\n"
    b"Memory  Address with two spaces\r\n"
    b"[    1.000000] a kernel message\r\n"
    b"[    1.000000] a kernel message\r\n"
    b"   \r\n"
    b"\r\n"
    b"Structure Type: End-of-Table\r\n"
    b"\x1b[31mcoloured output\x1b[0m\r\n"
    b"caf\xe9 in Latin-1\r\n"
    b"a \xc3\xa9 in UTF-8\r\n"
    b"\x07 a bell first\r\n"
    b"Shell> smbiosview -t 0\r\n"
    b"Type=0, Handle=0x0\r\n"
    b"Vendor: EDK II\r\n"
    b"UEFI is named here\r\n"
    b"Shell> \r\n"
)


def shell_blocks(data: bytes, runs: bool = True) -> list[tuple[str, list]]:
    """Return the (command, block lines) pairs that the shell readers get for `data`.

    With `runs` False, the scanner hands each line of a block over on its own.
    """
    from armcheck.parsers import stream, uefi_shell

    seen: list[tuple[str, list]] = []
    readers = dict(uefi_shell._READERS)
    dmem = uefi_shell.ShellParser._dmem
    scan_run = stream._scan_shell_output
    for name in readers:
        uefi_shell._READERS[name] = lambda shell, command, block: seen.append(
            (command, list(block))
        )
    uefi_shell.ShellParser._dmem = lambda shell, command, pieces: seen.append(  # type: ignore[method-assign]
        (command, uefi_shell._lines(pieces))
    )
    if not runs:
        stream._scan_shell_output = lambda parser, block, position, dirty, number: (
            position,
            number,
        )
    try:
        scan_blocks([data], LogParser(Facts(), "session.log"))
    finally:
        uefi_shell._READERS.update(readers)
        uefi_shell.ShellParser._dmem = dmem  # type: ignore[method-assign]
        stream._scan_shell_output = scan_run
    return seen


def test_shell_block_runs_match_lines() -> None:
    scanned = shell_blocks(SHELL_SESSION)
    assert [command for command, _ in scanned] == ["dmem 7C430018 24", "smbiosview -t 0"]
    assert len(scanned[0][1]) == 15
    assert scanned[0][1][4].message == "a line with a syslog stamp"
    assert scanned == shell_blocks(SHELL_SESSION, runs=False)


def test_shell_block_runs_keep_line_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from armcheck.parsers import uefi_shell

    monkeypatch.setattr(uefi_shell, "MAX_BLOCK_LINES", 5)
    data = b"Shell> memmap\n" + b"".join(b"  line %d\n" % n for n in range(12)) + b"Shell> \n"
    scanned = shell_blocks(data)
    assert [len(block) for _, block in scanned] == [5]
    assert scanned == shell_blocks(data, runs=False)


def test_shell_block_runs_split_long_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from armcheck.parsers import stream

    monkeypatch.setattr(stream, "MAX_LINE_CHARS", 64)
    lines = [b"  line %d %s" % (n, b"x" * (n * 7 % 90)) for n in range(40)]
    data = b"Shell> memmap\n" + b"\n".join(lines) + b"\nShell> \n"
    scanned = shell_blocks(data)
    # A line longer than 64 bytes reaches the block in pieces of 64 bytes.
    pieces = sum(-(-len(line) // 64) for line in lines)
    assert pieces > len(lines)
    assert [len(block) for _, block in scanned] == [pieces]
    assert scanned == shell_blocks(data, runs=False)


def test_stamped_line_with_cursor_move_keeps_time() -> None:
    # grabserial puts its stamp before the console's bytes; the shell's cursor
    # move to column 1 must not erase it.
    data = (
        b"[1.000000 0.000000] UEFI Interactive Shell v2.2\r\n"
        b"[1.500000 0.500000] \x1b[50;01H\x1b[1mShell> \x1b[0mver\r\n"
    )
    facts = Facts()
    scan_blocks([data], LogParser(facts, "stamped.log"))
    seen = facts.first("uefi.shell.seen")
    assert seen is not None
    assert seen.evidence.time == 0.5
    assert seen.evidence.text == "[1.500000 0.500000] Shell> ver"


@pytest.mark.parametrize(
    "prompt",
    [b"# \x1b[6n", b"login: ", b"[   12.5] reboot: Restarting sys"],
    ids=["shell", "login", "kernel"],
)
def test_banner_behind_last_line_counts_reset(prompt: bytes) -> None:
    # After a reset the first firmware line lands behind what the OS printed last.
    boot = (
        b"UEFI firmware (version 2022.11 built at 10:00:00 on Jan  1 2023)\r\n"
        b"[    0.000000] Linux version 6.1.0-57-arm64 (gcc 12)\r\n"
    )
    facts = Facts()
    scan_blocks([boot + prompt + boot], LogParser(facts, "soak.log"))
    banners = facts.all("firmware.banner")
    assert [banner.evidence.line for banner in banners] == [1, 3]


def test_reset_banner_pattern_matches_banners() -> None:
    from armcheck.parsers.prefilter import RESET_BANNER_PATTERN, RESET_BANNERS

    for banner in RESET_BANNERS:
        match = RESET_BANNER_PATTERN.search(b"# " + banner)
        assert match is not None
        assert match.group(0) == banner
