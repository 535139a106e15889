"""Measure Console.expect throughput over 20 MB of console output.

A forked writer process pushes boot-log-like text (printk lines, a UEFI shell
screen drawn with escape sequences, a countdown with carriage returns)
through a real pseudo-terminal. The reading side is a Console on a
SerialTransport with a capture being written, expecting a marker that follows
the last byte. For each run the script prints the wall-clock rate, the
reader's CPU time, and as a reference measured in the same run the rate of a
plain os.read loop that drains the same amount through a pseudo-terminal
without any processing. 1 MB is 10**6 bytes. The verdict uses the median run.

Run: .venv/bin/python benchmarks/expect_throughput.py [--megabytes 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tty
from dataclasses import dataclass

from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.console.serial import SerialTransport
from armcheck.targets import SerialSettings

MARKER = b"\r\nBENCHMARK-END-MARKER\r\n"
TARGET_RATE = 20.0  # MB/s


@dataclass
class Measurement:
    bytes: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.bytes / self.seconds / 1e6


def make_block() -> bytes:
    """Return about 30 KB of output that looks like a firmware and Linux boot."""
    lines = [
        b"[%5d.%06d] pci 0000:00:%02x.0: [1af4:1041] type 00 class 0x020000 PCIe Endpoint\r\n"
        % (number, number * 37 % 1000000, number % 32)
        for number in range(300)
    ]
    screen = b"".join(
        b"\x1b[%d;1H\x1b[0m\x1b[37;40mFS0: Alias(s):HD0a0b:;BLK1:\x1b[0m" % row
        for row in range(1, 25)
    )
    countdown = b"".join(
        b"\rPress ESC in %d seconds to skip startup.nsh" % n for n in range(5, 0, -1)
    )
    return b"".join(lines) + screen + b"\r\n" + countdown + b"\r\nShell> \r\n"


def write_all(master: int, total: int, block: bytes) -> None:
    written = 0
    while written < total:
        view = memoryview(block)
        while view:
            view = view[os.write(master, view) :]
        written += len(block)
    view = memoryview(MARKER)
    while view:
        view = view[os.write(master, view) :]


def start_writer(master: int, total: int, block: bytes) -> int:
    """Fork a process that writes `total` bytes of `block` and the marker; return its pid.

    A separate process keeps the writer from competing for the reader's GIL.
    """
    pid = os.fork()
    if pid == 0:
        try:
            write_all(master, total, block)
        finally:
            os._exit(0)
    return pid


def open_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def measure_console(total: int, block: bytes, capture_dir: str) -> Measurement:
    master, slave, path = open_pty()
    capture = CaptureWriter(os.path.join(capture_dir, "bench.cast"), target=path)
    console = Console(SerialTransport(SerialSettings(port=path)), capture)
    console.open()
    started = time.monotonic()
    cpu_started = time.process_time()
    pid = start_writer(master, total, block)
    console.expect("BENCHMARK-END-MARKER", timeout=600)
    measurement = Measurement(
        console.bytes_read, time.monotonic() - started, time.process_time() - cpu_started
    )
    console.close()
    capture.close()
    os.waitpid(pid, 0)
    os.close(master)
    os.close(slave)
    return measurement


def measure_raw(total: int, block: bytes) -> Measurement:
    master, slave, _ = open_pty()
    started = time.monotonic()
    cpu_started = time.process_time()
    pid = start_writer(master, total, block)
    received = 0
    tail = b""
    while MARKER not in tail:
        data = os.read(slave, 65536)
        received += len(data)
        tail = (tail + data)[-64:]
    measurement = Measurement(
        received, time.monotonic() - started, time.process_time() - cpu_started
    )
    os.waitpid(pid, 0)
    os.close(master)
    os.close(slave)
    return measurement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0, help="output per run, in MB")
    parser.add_argument("--runs", type=int, default=3, help="number of runs")
    args = parser.parse_args()
    total = int(args.megabytes * 1_000_000)
    block = make_block()

    rates = []
    for run in range(1, args.runs + 1):
        raw = measure_raw(total, block)
        with tempfile.TemporaryDirectory() as capture_dir:
            console = measure_console(total, block, capture_dir)
        rates.append(console.rate)
        print(
            f"run {run}: Console.expect with capture {console.bytes / 1e6:.1f} MB in "
            f"{console.seconds:.2f} s = {console.rate:.1f} MB/s "
            f"(reader CPU {console.cpu_seconds:.2f} s); "
            f"plain os.read reference {raw.rate:.1f} MB/s; "
            f"ratio {console.rate / raw.rate:.2f}"
        )

    median = statistics.median(rates)
    verdict = "met" if median >= TARGET_RATE else "NOT met"
    print(f"median {median:.1f} MB/s; target {TARGET_RATE:.0f} MB/s or more: {verdict}")


if __name__ == "__main__":
    main()
