"""Measure the least time a Python parser needs for the parse benchmark's log, next to grep.

parse_throughput.py compares `armcheck facts` with `grep -cE` on a 100 MB
log. This script measures two costs that any parser written in Python pays
on that log, whatever finds the marker lines for it:

- the command's start: the interpreter and armcheck's imports, timed as
  `armcheck facts --json` on a one-line log;
- the parsers' work on the marker lines alone: the lines that `grep -E`
  selects with the prefilter's markers are fed to `LogParser.feed` in this
  process, with no scan, no prefilter and no shell output blocks.

Their sum is a floor for `armcheck facts` on the log: the real command also
scans the other lines and reads the UEFI shell output blocks. The script
prints the floor as a multiple of grep's time in the same run.

Run: .venv/bin/python benchmarks/parse_floor.py [--megabytes 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parse_throughput import DEFAULT_SOURCES, build_log, grep_markers, source_texts, time_command

from armcheck.facts import Facts
from armcheck.parsers.stream import LogParser


def time_feed(lines: list[str]) -> float:
    parser = LogParser(Facts(), "floor.log")
    start = time.perf_counter()
    for number, text in enumerate(lines, 1):
        parser.feed(number, text)
    parser.finish()
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

        selected = subprocess.run(
            ["grep", "-E", "-f", str(markers), str(log)],
            capture_output=True,
            env=grep_env,
            check=True,
        ).stdout
        texts = selected.decode("utf-8", "replace").split("\n")[:-1]
        lines = [text.rstrip("\r ") for text in texts]
        print(f"log: {size / 1e6:.1f} MB, {len(lines)} marker lines")

        greps, starts, feeds = [], [], []
        for _ in range(args.runs):
            greps.append(time_command(["grep", "-cE", "-f", str(markers), str(log)], grep_env)[0])
            command = [sys.executable, "-m", "armcheck", "facts", "--json", str(one_line)]
            starts.append(time_command(command)[0])
            feeds.append(time_feed(lines))

    grep = statistics.median(greps)
    start = statistics.median(starts)
    feed = statistics.median(feeds)
    floor = start + feed
    print(f"grep -cE: {grep:.3f} s")
    print(f"armcheck facts start (one-line log): {start:.3f} s")
    print(f"LogParser.feed on the marker lines only: {feed:.3f} s")
    print(
        f"floor: {floor:.3f} s, {floor / grep:.1f} times grep "
        f"(the target of 3 times grep is {3 * grep:.3f} s)"
    )


if __name__ == "__main__":
    main()
