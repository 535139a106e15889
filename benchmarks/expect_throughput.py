"""Measure Console.expect throughput over 20 MB of console output.

A writer thread pushes boot-log-like text (printk lines, a UEFI shell screen
with escape sequences, a countdown with carriage returns) through a real
pseudo-terminal. The reading side is a Console on a SerialTransport with a
capture being written, expecting a marker that follows the last byte. The
script prints the throughput in MB/s (1 MB = 10**6 bytes) and, as a
reference measured in the same run, the rate of a plain os.read loop that
drains the same pseudo-terminal without any processing.

Run: .venv/bin/python benchmarks/expect_throughput.py [--megabytes N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tty

from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.console.serial import SerialTransport
from armcheck.targets import SerialSettings

MARKER = b"\r\nBENCHMARK-END-MARKER\r\n"


def make_block() -> bytes:
    """About 64 KB of output that looks like a firmware and Linux boot."""
    lines = []
    for number in range(300):
        lines.append(
            b"[%5d.%06d] pci 0000:00:%02x.0: [1af4:1041] type 00 class 0x020000 PCIe Endpoint\r\n"
            % (number, number * 37 % 1000000, number % 32)
        )
    screen = b"".join(
        b"\x1b[%d;1H\x1b[0m\x1b[37;40mFS0: Alias(s):HD0a0b:;BLK1:\x1b[0m" % row
        for row in range(1, 25)
    )
    countdown = b"".join(
        b"\rPress ESC in %d seconds to skip startup.nsh" % n for n in range(5, 0, -1)
    )
    block = b"".join(lines) + screen + b"\r\n" + countdown + b"\r\nShell> \r\n"
    return block


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


def open_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def measure_console(total: int, block: bytes, capture_dir: str) -> tuple[float, int]:
    master, slave, path = open_pty()
    capture = CaptureWriter(os.path.join(capture_dir, "bench.cast"), target=path)
    console = Console(SerialTransport(SerialSettings(port=path)), capture)
    console.open()
    started = time.monotonic()
    pid = start_writer(master, total, block)
    console.expect("BENCHMARK-END-MARKER", timeout=600)
    elapsed = time.monotonic() - started
    received = console.bytes_read
    console.close()
    capture.close()
    os.waitpid(pid, 0)
    os.close(master)
    os.close(slave)
    return elapsed, received


def measure_raw(total: int, block: bytes) -> tuple[float, int]:
    master, slave, path = open_pty()
    started = time.monotonic()
    pid = start_writer(master, total, block)
    received = 0
    tail = b""
    while True:
        data = os.read(slave, 65536)
        received += len(data)
        tail = (tail + data)[-64:]
        if MARKER in tail:
            break
    elapsed = time.monotonic() - started
    os.waitpid(pid, 0)
    os.close(master)
    os.close(slave)
    return elapsed, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0, help="output to push, in MB")
    args = parser.parse_args()
    total = int(args.megabytes * 1_000_000)
    block = make_block()

    raw_elapsed, raw_bytes = measure_raw(total, block)
    with tempfile.TemporaryDirectory() as capture_dir:
        elapsed, received = measure_console(total, block, capture_dir)

    raw_rate = raw_bytes / raw_elapsed / 1e6
    rate = received / elapsed / 1e6
    print(
        f"plain os.read loop (reference): {raw_bytes / 1e6:.1f} MB in {raw_elapsed:.2f} s "
        f"= {raw_rate:.1f} MB/s"
    )
    print(
        f"Console.expect with capture:    {received / 1e6:.1f} MB in {elapsed:.2f} s "
        f"= {rate:.1f} MB/s ({rate / raw_rate:.2f} of the reference)"
    )
    print("target: 20 MB/s or more:", "met" if rate >= 20 else "NOT met")


if __name__ == "__main__":
    main()
