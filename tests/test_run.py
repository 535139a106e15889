"""`armcheck run` end to end on real qemu, and the run's failure paths.

Each test starts `armcheck run` as a user would, in a subprocess, and reads
what it wrote: the exit status, the capture, the JUnit and JSON reports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest

from armcheck.capture import MARKER, read_capture
from armcheck.console.qemu import find_guest

ARMCHECK = [sys.executable, "-m", "armcheck"]

needs_guest = pytest.mark.skipif(
    find_guest() is None, reason="the Linux guest is not built; run scripts/build-guest.sh"
)


def start_run(run_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ARMCHECK, "run", "--run-dir", str(run_dir), "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def markers(capture: Path) -> list[str]:
    if not capture.exists():
        return []
    try:
        return [event.text for event in read_capture(capture).events if event.kind == MARKER]
    except Exception:  # noqa: BLE001 - the writer may be mid-line; try again later
        return []


def wait_for_marker(
    capture: Path, marker: str, process: subprocess.Popen[str], timeout: float = 120.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in markers(capture):
            return
        if process.poll() is not None:
            pytest.fail(f"armcheck run exited ({process.returncode}) before {marker!r}")
        time.sleep(0.05)
    pytest.fail(f"no {marker!r} marker within {timeout} s")


def qemu_children(pid: int) -> list[int]:
    """Return the qemu-system-aarch64 processes started by `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and command.endswith(b"qemu-system-aarch64"):
            found.append(int(entry.name))
    return found


def junit_cases(path: Path) -> dict[str, ElementTree.Element]:
    root = ElementTree.parse(path).getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


def result_statuses(report: Path) -> dict[str, str]:
    document = json.loads(report.read_text())
    return {result["id"]: result["status"] for result in document["results"]}


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "run"


@pytest.mark.qemu
@needs_guest
def test_run_qemu_virt_end_to_end(run_dir: Path) -> None:
    process = start_run(run_dir, "qemu-virt")
    stdout, stderr = process.communicate(timeout=300)

    assert process.returncode == 0, stderr
    cases = junit_cases(run_dir / "junit.xml")
    areas = {name.split(".")[0] for name in cases}
    for area in ("uart", "rtc", "watchdog", "acpi", "smbios"):
        assert area in areas
    facts = json.loads((run_dir / "report.json").read_text())["facts"]["facts"]
    shell_tables = {
        obs["value"]["signature"]
        for obs in facts["acpi.table"]
        if obs["evidence"]["source"] == "uefi-shell"
    }
    assert {"FACP", "APIC", "GTDT", "SPCR"} <= shell_tables
    assert facts["acpi.spcr"][0]["value"]["interface_type"] == 3
    assert facts["linux.version"][0]["evidence"]["source"] == "linux-log"
    assert facts["smbios.version"][0]["value"] == "3.0"
    run_markers = markers(run_dir / "capture.cast")
    assert run_markers[-1] == "complete"
    # The fixed UEFI shell commands ran from the script on the FAT drive.
    assert "command uefi-shell: FS0:\\a" in run_markers
    assert facts["uefi.memmap"][0]["evidence"]["source"] == "uefi-shell"
    assert facts["smbios.version"][0]["evidence"]["source"] in ("uefi-shell", "smbios-table")


@pytest.mark.qemu
@needs_guest
def test_check_of_run_capture_gives_same_verdicts(run_dir: Path, tmp_path: Path) -> None:
    process = start_run(run_dir, "qemu-virt", "--profile", "sbsa-l3")
    process.communicate(timeout=300)
    offline = tmp_path / "offline.json"

    check = subprocess.run(
        [
            *ARMCHECK,
            "check",
            str(run_dir / "capture.cast"),
            "--profile",
            "sbsa-l3",
            "--json",
            str(offline),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == process.returncode
    assert result_statuses(offline) == result_statuses(run_dir / "report.json")


@pytest.mark.qemu
@needs_guest
def test_run_qemu_killed_mid_run(run_dir: Path) -> None:
    process = start_run(run_dir, "qemu-virt")
    wait_for_marker(run_dir / "capture.cast", "linux", process)
    for pid in qemu_children(process.pid):
        os.kill(pid, signal.SIGKILL)
    _stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 3, stderr
    assert "SIGKILL" in stderr
    statuses = result_statuses(run_dir / "report.json")
    assert "error" in statuses.values()
    cases = junit_cases(run_dir / "junit.xml")
    assert any(case.find("error") is not None for case in cases.values())
    labels = markers(run_dir / "capture.cast")
    assert any(label.startswith("error: ") for label in labels)


@pytest.mark.qemu
@needs_guest
def test_run_silent_hang_times_out(run_dir: Path) -> None:
    process = start_run(run_dir, "qemu-virt", "--timeout", "20")
    wait_for_marker(run_dir / "capture.cast", "uefi-shell", process)
    stopped = qemu_children(process.pid)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        _stdout, stderr = process.communicate(timeout=120)
    finally:
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    assert process.returncode == 3, stderr
    assert "timed out" in stderr
    assert "error" in result_statuses(run_dir / "report.json").values()
    ElementTree.parse(run_dir / "junit.xml")
    assert read_capture(run_dir / "capture.cast").output_bytes()


@pytest.mark.qemu
def test_run_interrupted_exits_130(run_dir: Path) -> None:
    process = start_run(run_dir, "qemu-virt", "--no-linux")
    wait_for_marker(run_dir / "capture.cast", "uefi-shell", process)
    os.kill(process.pid, signal.SIGINT)
    _stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "interrupted" in markers(run_dir / "capture.cast")
    ElementTree.parse(run_dir / "junit.xml")
    assert qemu_children(process.pid) == []


@pytest.mark.qemu
def test_run_uefi_only_collects_tables(run_dir: Path) -> None:
    process = start_run(run_dir, "qemu-virt", "--no-linux")
    _stdout, stderr = process.communicate(timeout=300)

    facts = json.loads((run_dir / "report.json").read_text())["facts"]["facts"]
    sources = {obs["evidence"]["source"] for obs in facts["acpi.spcr"]}
    assert sources == {"uefi-shell"}, stderr
    assert "linux.version" not in facts
