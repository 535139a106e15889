"""`armcheck run` on a serial console: a pseudo-terminal that plays a board's output.

The board side is a thread writing what firmware prints; armcheck reads the
other end as it would read /dev/ttyUSB0.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from armcheck.capture import MARKER, read_capture

ARMCHECK = [sys.executable, "-m", "armcheck"]
BANNER = b"UEFI firmware (version 1.0 built at 10:00:00 on Jan  1 2026)\r\n"


def run_on(pty_path: str, run_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARMCHECK, "run", pty_path, "--run-dir", str(run_dir), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_board_reset_is_an_error(pty_pair, tmp_path: Path) -> None:
    pty_pair.write_chunks(
        [b"", BANNER, b"BdsDxe: loading Boot0001\r\n", BANNER, b"BdsDxe: loading Boot0001\r\n"],
        interval=0.5,
    )

    result = run_on(pty_pair.path, tmp_path, "--timeout", "30")

    assert result.returncode == 3, result.stderr
    assert "reset" in result.stderr
    labels = [e.text for e in read_capture(tmp_path / "capture.cast").events if e.kind == MARKER]
    assert any(label.startswith("error: the board reset") for label in labels)
    ElementTree.parse(tmp_path / "junit.xml")


def test_run_board_silent_console_times_out(pty_pair, tmp_path: Path) -> None:
    result = run_on(pty_pair.path, tmp_path, "--timeout", "3")

    assert result.returncode == 3, result.stderr
    assert "timed out" in result.stderr
    assert "nothing was received" in result.stderr
    statuses = {r["status"] for r in json.loads((tmp_path / "report.json").read_text())["results"]}
    assert "error" in statuses


def test_run_board_kernel_panic_is_an_error(pty_pair, tmp_path: Path) -> None:
    pty_pair.write_chunks(
        [b"", BANNER, b"Kernel panic - not syncing: Attempted to kill init!\r\n"], interval=0.3
    )

    result = run_on(pty_pair.path, tmp_path, "--timeout", "30")

    assert result.returncode == 3, result.stderr
    assert "panicked" in result.stderr
