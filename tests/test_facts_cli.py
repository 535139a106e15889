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


def piped(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run armcheck with `data` on a real pipe as its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "armcheck", *args], input=data, capture_output=True, timeout=120
    )


def test_facts_reads_piped_stdin() -> None:
    data = (LOGS / "orangepi-uboot-dt.log").read_bytes()
    for name in ("-", "/dev/stdin"):
        run = piped(["facts", "--json", name], data)
        assert run.returncode == 0, run.stderr
        document = json.loads(run.stdout)
        assert document["inputs"][0]["lines"] == 71
        assert document["summary"]["firmware.vendor"] == "U-Boot"
        expected = "stdin" if name == "-" else name
        assert document["facts"]["rtc.driver"][0]["evidence"]["file"] == expected


def test_facts_reads_fifo(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "console.fifo"
    os.mkfifo(fifo)
    data = (LOGS / "orangepi-uboot-dt.log").read_bytes()

    def write() -> None:
        with open(fifo, "wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    run = armcheck("facts", "--json", str(fifo))
    writer.join(timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["summary"]["firmware.vendor"] == "U-Boot"


def test_piped_bad_input_named_as_given() -> None:
    run = piped(["facts", "-"], b"Shopping list\neggs\n")
    assert run.returncode == 2
    assert b"error: stdin: not a known input" in run.stderr


def test_check_reads_piped_capture() -> None:
    capture = Path(__file__).resolve().parents[1] / "captures" / "qemu-virt-edk2-linux.cast"
    run = piped(["check", "/dev/stdin", "--profile", "qemu-virt"], capture.read_bytes())
    assert run.returncode == 0, run.stderr
    assert b"0 failed" in run.stdout


def test_evidence_keys_always_present() -> None:
    tables = Path(__file__).parent / "fixtures" / "tables" / "qemu-virt"
    run = armcheck("facts", "--json", str(tables / "spcr.dat"), str(LOGS / "emag-caller-id.log"))
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    for observations in document["facts"].values():
        for observation in observations:
            assert set(observation["evidence"]) == {"source", "file", "line", "time", "text"}
    spcr = document["facts"]["acpi.spcr"][0]["evidence"]
    assert spcr["line"] is None
    assert spcr["time"] is None


def test_terminal_input_rejected() -> None:
    import os

    master, slave = os.openpty()
    try:
        run = armcheck("facts", os.ttyname(slave))
    finally:
        os.close(slave)
        os.close(master)
    assert run.returncode == 2
    assert "is a terminal or serial port, not a saved log" in run.stderr
    assert "armcheck capture" in run.stderr


def test_piped_capture_keeps_start_time(tmp_path: Path) -> None:
    from armcheck.capture import CaptureWriter

    path = tmp_path / "run.cast"
    with CaptureWriter(path, target="board") as capture:
        capture.output(b"UEFI firmware (version 1.0 built at 10:00:00 on Jan  1 2024)\r\n")
    run = piped(["facts", "--json", "-"], path.read_bytes())
    assert run.returncode == 0, run.stderr
    entry = json.loads(run.stdout)["inputs"][0]
    assert entry["kind"] == "capture"
    assert isinstance(entry["timestamp"], float)
