"""`armcheck facts` as a user runs it: the real command in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from armcheck.facts import SUMMARY_KEYS

LOGS = Path(__file__).parent / "fixtures" / "logs"


def armcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "armcheck", *args], capture_output=True, text=True, timeout=120
    )


def test_facts_json_document() -> None:
    run = armcheck("facts", "--json", str(LOGS / "orangepi-uboot-dt.log"))
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert tuple(document["summary"]) == SUMMARY_KEYS
    assert document["summary"]["firmware.vendor"] == "U-Boot"
    assert document["inputs"][0]["kind"] == "console-log"
    evidence = document["facts"]["rtc.driver"][0]["evidence"]
    assert evidence["source"] == "linux-log"
    assert evidence["file"].endswith("orangepi-uboot-dt.log")
    assert isinstance(evidence["line"], int)


def test_facts_text_report() -> None:
    run = armcheck("facts", str(LOGS / "fvp-tfa-edk2-shell.log"))
    assert run.returncode == 0, run.stderr
    assert "Summary:" in run.stdout
    assert "watchdog.driver           sbsa-gwdt" in run.stdout
    assert "fvp-tfa-edk2-shell.log:" in run.stdout


def test_facts_unknown_input_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "firmware.img"
    path.write_bytes(bytes(range(256)) * 256)
    run = armcheck("facts", str(path))
    assert run.returncode == 2
    assert "firmware.img" in run.stderr
    assert "Traceback" not in run.stderr


def test_facts_missing_input_exit_2(tmp_path: Path) -> None:
    run = armcheck("facts", str(tmp_path / "absent.log"))
    assert run.returncode == 2
    assert "absent.log" in run.stderr


def test_facts_random_bytes_no_traceback(tmp_path: Path) -> None:
    import random

    path = tmp_path / "noise.log"
    path.write_bytes(random.Random(3).randbytes(300_000))
    run = armcheck("facts", "--json", str(path))
    assert run.returncode in (0, 2)
    assert "Traceback" not in run.stderr
