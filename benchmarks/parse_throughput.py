"""Measure how fast `armcheck facts` reads a 100 MB console log, next to `grep -cE`.

The log is built by concatenating real console output until it reaches the
requested size. By default the sources are the console bytes of the qemu
captures (captures/ and tests/fixtures/captures, escape sequences included)
and the log excerpts of tests/fixtures/logs; `--source` names other folders.
In the same run the script times:

- `armcheck facts --json LOG` as a user runs it (interpreter start included);
- `grep -cE` with the same markers as armcheck's prefilter
  (armcheck/parsers/prefilter.py), in the C locale, which is grep's fastest;
- the peak resident memory of the armcheck process.

1 MB is 10**6 bytes. Targets: at least 50 MB/s, and at most 3 times grep's
time. The verdict uses the median of the runs.

Run: .venv/bin/python benchmarks/parse_throughput.py [--megabytes 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from armcheck.capture import read_capture
from armcheck.parsers.prefilter import DRIVER_MESSAGES, MESSAGE_STARTS

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATE = 50.0  # MB/s
TARGET_GREP_RATIO = 3.0

# The prefilter's patterns written as POSIX extended regular expressions.
_ERE_PATTERNS = (
    "ACPI: [A-Z0-9_!]{4} 0x",
    "efi: .*(=0x|[Rr]untime)",
    "NOTICE: +BL",
    "[A-Z]+[0-9]+:\\\\",
)
# `_LINE_START` of the prefilter: bytes that are not ASCII, mail quoting and
# a host or syslog timestamp. The markers file is written in Latin-1 so that
# `\x80-\xff` reach grep as single bytes.
_ERE_LINE_START = (
    "^[\x80-\xff]{0,8}(> ?)*([0-9:.,TZ+-]{8,35} ([0-9]{2}:[0-9:.,]{5,29} )?"
    "|[A-Z][a-z]{2} +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}([.,][0-9]+)? "
    "([^[:space:]]+ kernel: )?|\\[[0-9:.,TZ+ -]{8,40}] )?"
)


def ere_escape(literal: bytes) -> str:
    text = literal.decode()
    return "".join("\\" + char if char in ".[]()*+?{}|^$\\" else char for char in text)


def grep_markers() -> str:
    """Return one ERE with the markers of armcheck's prefilter."""
    message = "|".join([ere_escape(word) for word in MESSAGE_STARTS] + list(_ERE_PATTERNS))
    driver = "|".join(ere_escape(word) for word in DRIVER_MESSAGES)
    return (
        f"(\\] |{_ERE_LINE_START})({message})|{_ERE_LINE_START}[^ ]{{1,64}} login:"
        f"|: ({driver})|U(EFI firmware \\(version|-Boot )"
    )


DEFAULT_SOURCES = (
    ROOT / "captures",
    ROOT / "tests" / "fixtures" / "captures",
    ROOT / "tests" / "fixtures" / "logs",
)


def source_texts(folders: list[Path]) -> list[bytes]:
    """Return the console bytes of every capture (`*.cast`) and log (`*.log`) in `folders`."""
    texts = []
    for folder in folders:
        for path in sorted(folder.glob("*.cast")):
            texts.append(read_capture(path).output_bytes())
        for path in sorted(folder.glob("*.log")):
            texts.append(path.read_bytes())
    if not texts:
        sys.exit(f"no captures or logs found in {', '.join(map(str, folders))}")
    return texts


def build_log(path: Path, size: int, texts: list[bytes]) -> int:
    written = 0
    with open(path, "wb") as file:
        while written < size:
            for text in texts:
                file.write(text if text.endswith(b"\n") else text + b"\n")
                written += len(text) + (0 if text.endswith(b"\n") else 1)
    return written


def time_command(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if run.returncode not in (0, 1):
        sys.exit(f"{command[0]} failed with exit status {run.returncode}: {run.stderr.strip()}")
    return seconds, run.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=100.0, help="log size in MB (10**6 B)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command")
    parser.add_argument(
        "--source",
        action="append",
        type=Path,
        help="folder of *.cast and *.log files to build the log from (repeatable; "
        "default: captures/, tests/fixtures/captures/ and tests/fixtures/logs/)",
    )
    args = parser.parse_args()
    texts = source_texts(args.source or list(DEFAULT_SOURCES))

    armcheck = [sys.executable, "-m", "armcheck", "facts", "--json"]
    grep_env = dict(os.environ, LC_ALL="C")
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "console.log"
        size = build_log(log, int(args.megabytes * 1e6), texts)
        markers = Path(folder) / "markers.ere"
        markers.write_bytes(grep_markers().encode("latin-1"))
        megabytes = size / 1e6
        print(f"log: {megabytes:.1f} MB, {len(texts)} real console texts concatenated")

        ours, greps = [], []
        for run in range(args.runs):
            seconds, _ = time_command(armcheck + [str(log)])
            ours.append(seconds)
            grep_seconds, count = time_command(
                ["grep", "-cE", "-f", str(markers), str(log)], grep_env
            )
            greps.append(grep_seconds)
            print(
                f"run {run + 1}: armcheck facts {seconds:.2f} s ({megabytes / seconds:.1f} MB/s), "
                f"grep -cE {grep_seconds:.2f} s ({megabytes / grep_seconds:.1f} MB/s, "
                f"{count.strip()} lines)"
            )

    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ours_median = statistics.median(ours)
    grep_median = statistics.median(greps)
    rate = megabytes / ours_median
    ratio = ours_median / grep_median
    print(
        f"median: armcheck facts {rate:.1f} MB/s, grep {megabytes / grep_median:.1f} MB/s, "
        f"armcheck/grep time {ratio:.1f}x; peak RSS of the children {peak:.0f} MB"
    )
    print(
        f"target >= {TARGET_RATE:.0f} MB/s: {'met' if rate >= TARGET_RATE else 'NOT met'}; "
        f"target <= {TARGET_GREP_RATIO:.0f}x grep: "
        f"{'met' if ratio <= TARGET_GREP_RATIO else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
