"""A synthetic boot console: known boot messages written on a pseudo-terminal at known times.

It checks timing accuracy end to end. The writer plays the board. It creates
a pseudo-terminal and prints the path of its terminal side (`/dev/pts/N`).
Once a reader has opened it, and SETTLE seconds later, it writes each message
of BOOT_SCHEDULE at its offset from the first byte, on the monotonic clock.
Every span of the schedule is known in advance (EXPECTED_SPANS), so
`armcheck time` on a capture of it must find the same durations.

Run it as `python -m armcheck.timing.schedule`. It writes the offsets at which
each message really went out as JSON on standard output when done. With
`--stdout` it writes the schedule on its standard output at once instead, so
that a command target can boot it.
The countdown is scaled down: it announces 3 seconds but ticks every 0.1 s.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tty

from armcheck.console.pty_reader import wait_for_reader

# (offset from the first byte in seconds, bytes written at that moment)
BOOT_SCHEDULE: tuple[tuple[float, bytes], ...] = (
    (0.000, b"UEFI firmware (version 2.0 built at 12:00:00 on Jan  1 2026)\r\n"),
    (0.120, b'BdsDxe: loading Boot0001 "Linux" from HD(1,GPT)/\\EFI\\BOOT\\BOOTAA64.EFI\r\n'),
    (0.140, b'BdsDxe: starting Boot0001 "Linux" from HD(1,GPT)/\\EFI\\BOOT\\BOOTAA64.EFI\r\n'),
    (0.160, b"The default boot selection will start in   3 seconds"),
    (0.260, b"\rThe default boot selection will start in   2 seconds"),
    (0.360, b"\rThe default boot selection will start in   1 seconds"),
    (0.460, b"\r\nEFI stub: Booting Linux Kernel...\r\n"),
    (0.520, b"EFI stub: Using DTB from configuration table\r\n"),
    (0.600, b"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]\r\n"),
    (0.700, b"[    0.100000] Linux version 6.1.0-armcheck (schedule) #1 SMP\r\n"),
    (0.900, b"[    0.300000] Serial: AMBA PL011 UART driver\r\n"),
    (1.200, b"[    0.600000] Freeing unused kernel memory: 1024K\r\n"),
    (1.400, b"[    0.800000] Run /init as init process\r\n"),
    (1.500, b"Starting syslogd: OK\r\n"),
    (1.700, b"\r\nWelcome to the armcheck schedule\r\nschedule login: "),
)

# Spans that `armcheck time` must find in a capture of BOOT_SCHEDULE:
# name -> (start, duration), in seconds from the first byte.
EXPECTED_SPANS: dict[str, tuple[float, float]] = {
    "firmware": (0.000, 0.460),
    "uefi-banner": (0.000, 0.120),
    "bds-loading": (0.120, 0.020),
    "bds-starting": (0.140, 0.320),
    "edk2-boot-countdown": (0.160, 0.300),
    "loader": (0.460, 0.140),
    "kernel": (0.600, 0.800),
    "userspace": (1.400, 0.300),
}

# The kernel clock read zero when "Booting Linux" arrived, 0.6 s after the first byte.
EXPECTED_KERNEL_OFFSET = 0.600

LINGER = 0.5
SETTLE = 0.3
SPIN = 0.002
READER_TIMEOUT = 30.0


def sleep_until(deadline: float) -> None:
    """Sleep until the monotonic clock reaches `deadline`, spinning for the last SPIN seconds."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if remaining > SPIN:
            time.sleep(remaining - SPIN)


def play(master: int, schedule: tuple[tuple[float, bytes], ...] = BOOT_SCHEDULE) -> list[float]:
    """Write the schedule on `master`; return the monotonic time of each write."""
    start = time.monotonic()
    written = []
    for offset, data in schedule:
        sleep_until(start + offset)
        written.append(time.monotonic())
        os.write(master, data)
    return written


def main() -> int:
    if sys.argv[1:] == ["--stdout"]:
        play(sys.stdout.fileno())
        time.sleep(LINGER)
        return 0
    master, terminal = os.openpty()
    tty.setraw(terminal)
    print(os.ttyname(terminal), flush=True)
    os.close(terminal)
    if not wait_for_reader(master, READER_TIMEOUT):
        print(f"no reader opened the terminal within {READER_TIMEOUT:.0f} s", file=sys.stderr)
        return 1
    # The reader opens the port before it starts reading: give it time to get there.
    time.sleep(SETTLE)
    written = play(master)
    first = written[0]
    offsets = [round(at - first, 6) for at in written]
    print(json.dumps({"written": offsets}), flush=True)
    time.sleep(LINGER)
    os.close(master)
    return 0


if __name__ == "__main__":
    sys.exit(main())
