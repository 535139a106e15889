"""Time `armcheck run` against a raw boot of the same guest under the same qemu.

The raw boot is what the guest costs without armcheck: qemu-system-aarch64
with the same machine, firmware and guest, the kernel handed to edk2 with
-kernel (so no UEFI shell), and `poweroff -f` typed as soon as the guest's
shell is ready. `armcheck run qemu-virt` does the same boot plus the UEFI
shell collection (tables through `dmem`), the Linux collection (tables back
through base64) and the checks. Both are timed in the same run, alternately,
and the script prints the medians and their ratio.

Usage: .venv/bin/python benchmarks/run_vs_raw_boot.py [--rounds N]
Needs the Linux guest (scripts/build-guest.sh).
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from armcheck.console.qemu import LINUX_DIRECT, QemuTransport, find_guest, missing_guest_message
from armcheck.targets import resolve_target

READY_LINE = b"armcheck-guest: ready"


def raw_boot_seconds(timeout: float = 300.0) -> float:
    """Boot the guest under qemu with no armcheck, power it off at its shell; return seconds."""
    target = resolve_target("qemu-virt")
    target.qemu["linux_boot"] = LINUX_DIRECT
    folder = Path(tempfile.mkdtemp(prefix="armcheck-bench-"))
    try:
        argv = QemuTransport(target).build_command(folder)
        start = time.monotonic()
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert process.stdin is not None and process.stdout is not None
        seen = b""
        deadline = start + timeout
        while READY_LINE not in seen:
            remaining = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([process.stdout], [], [], remaining)
            if not ready:
                process.kill()
                raise RuntimeError("the raw boot did not reach the guest's shell")
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("qemu exited before the guest's shell was ready")
            seen = seen[-4096:] + chunk
        process.stdin.write(b"poweroff -f\n")
        process.stdin.flush()
        while os.read(process.stdout.fileno(), 65536):
            pass
        process.wait(timeout=timeout)
        return time.monotonic() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def armcheck_run_seconds(timeout: float = 300.0) -> float:
    """Run `armcheck run qemu-virt` end to end in a subprocess; return seconds."""
    folder = Path(tempfile.mkdtemp(prefix="armcheck-bench-"))
    try:
        start = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "armcheck",
                "run",
                "qemu-virt",
                "--quiet",
                "--run-dir",
                str(folder / "run"),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        seconds = time.monotonic() - start
        if result.returncode not in (0, 1):
            raise RuntimeError(f"armcheck run failed ({result.returncode}): {result.stderr}")
        return seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="boots of each kind (default 3)")
    args = parser.parse_args()
    if find_guest() is None:
        print(missing_guest_message(), file=sys.stderr)
        return 2

    raw: list[float] = []
    full: list[float] = []
    for round_number in range(1, args.rounds + 1):
        raw.append(raw_boot_seconds())
        full.append(armcheck_run_seconds())
        print(f"round {round_number}: raw boot {raw[-1]:.2f} s, armcheck run {full[-1]:.2f} s")

    raw_median = statistics.median(raw)
    full_median = statistics.median(full)
    print(f"raw boot median:     {raw_median:.2f} s")
    print(f"armcheck run median: {full_median:.2f} s")
    print(f"ratio: {full_median / raw_median:.2f} (target at most 2.0, aim 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
