"""Time two parts of `armcheck facts` on the parse benchmark's log, next to grep.

parse_throughput.py compares `armcheck facts` with `grep -cE` on a 100 MB
log. This script times, in the same run and on the same kind of log, two
costs that bound how close a parser written in Python can come to grep:

- the command's start: the interpreter and armcheck's imports, timed as
  `armcheck facts --json` on a one-line log;
- the marker search: the prefilter's patterns (armcheck/parsers/prefilter.py)
  searched over the whole log with Python's `re`, in this process.

The scanner searches less than the whole log: it does not search the runs of
UEFI shell output that it hands to the shell parser whole. The parsers'
work on the marker lines and the shell output comes on top of both parts.

Run: .venv/bin/python benchmarks/parse_parts.py [--megabytes 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from parse_throughput import DEFAULT_SOURCES, build_log, grep_markers, source_texts, time_command

from armcheck.parsers.prefilter import PATTERNS
from armcheck.parsers.stream import read_blocks


def time_marker_search(path: Path) -> float:
    """Return the seconds the prefilter's patterns take to find every match in `path`."""
    start = time.perf_counter()
    with open(path, "rb") as file:
        for block in read_blocks(file):
            for pattern in PATTERNS:
                for _match in pattern.finditer(block):
                    pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=100.0, help="log size in MB (10**6 B)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    args = parser.parse_args()

    grep_env = dict(os.environ, LC_ALL="C")
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "console.log"
        size = build_log(log, int(args.megabytes * 1e6), source_texts(list(DEFAULT_SOURCES)))
        markers = Path(folder) / "markers.ere"
        markers.write_text(grep_markers())
        one_line = Path(folder) / "one-line.log"
        one_line.write_text("[    0.000000] Linux version 6.1.0-57-arm64\n")
        print(f"log: {size / 1e6:.1f} MB")

        greps, starts, searches = [], [], []
        for _ in range(args.runs):
            greps.append(time_command(["grep", "-cE", "-f", str(markers), str(log)], grep_env)[0])
            command = [sys.executable, "-m", "armcheck", "facts", "--json", str(one_line)]
            starts.append(time_command(command)[0])
            searches.append(time_marker_search(log))

    grep = statistics.median(greps)
    start = statistics.median(starts)
    search = statistics.median(searches)
    print(f"grep -cE: {grep:.3f} s; 3 times grep (the target): {3 * grep:.3f} s")
    print(f"armcheck facts start (one-line log): {start:.3f} s, {start / grep:.1f} times grep")
    print(f"marker search over the whole log: {search:.3f} s, {search / grep:.1f} times grep")
    print(f"both: {start + search:.3f} s, {(start + search) / grep:.1f} times grep")


if __name__ == "__main__":
    main()
