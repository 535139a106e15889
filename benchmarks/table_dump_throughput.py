"""Measure how fast the UEFI shell `dmem` reader decodes table dumps, next to grep.

The input is the GICv2 qemu session of tests/fixtures/tables (edk2 `dmem` of
the system table, the RSDP, the XSDT, every ACPI table and the SMBIOS table)
repeated until it reaches the requested size. The script times
`facts_from_dmem_lines` on the lines of that text, and as a reference in the
same run `grep -cE` with the dump markers on the same file. 1 MB is 10**6
bytes. The verdict uses the median run.

Run: .venv/bin/python benchmarks/table_dump_throughput.py [--megabytes 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from armcheck.facts import Facts
from armcheck.parsers.tables import facts_from_dmem_lines, lines_from_text
from armcheck.transcript import lines_from_bytes

FIXTURE = Path(__file__).parent.parent / "tests/fixtures/tables/qemu-virt-gicv2-dmem.log"
GREP_PATTERN = r"Memory Address|^  [0-9A-F]{8}: "


def build_text(megabytes: float) -> str:
    session = "\n".join(line.text for line in lines_from_bytes(FIXTURE.read_bytes())) + "\n"
    repeats = max(1, int(megabytes * 1e6 / len(session)))
    return session * repeats


def time_reader(text: str) -> float:
    lines = lines_from_text(text)
    start = time.perf_counter()
    facts_from_dmem_lines(lines, Facts(), "benchmark")
    return time.perf_counter() - start


def time_grep(path: str) -> float:
    start = time.perf_counter()
    subprocess.run(["grep", "-cE", GREP_PATTERN, path], capture_output=True, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=3.0, help="input size in MB")
    parser.add_argument("--runs", type=int, default=3, help="number of timed runs")
    options = parser.parse_args()

    text = build_text(options.megabytes)
    size = len(text.encode()) / 1e6
    with tempfile.NamedTemporaryFile("w", suffix=".log") as handle:
        handle.write(text)
        handle.flush()
        reader = [time_reader(text) for _ in range(options.runs)]
        grep = [time_grep(handle.name) for _ in range(options.runs)]

    reader_seconds = statistics.median(reader)
    grep_seconds = statistics.median(grep)
    print(f"input: {size:.1f} MB of dmem output")
    print(f"dmem reader: {reader_seconds:.3f} s, {size / reader_seconds:.1f} MB/s")
    print(f"grep -cE:    {grep_seconds:.3f} s, {size / grep_seconds:.1f} MB/s")
    print(f"reader / grep time: {reader_seconds / grep_seconds:.1f}")


if __name__ == "__main__":
    main()
