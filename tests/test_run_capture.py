"""A capture recorded by `armcheck run qemu-virt`, read back offline.

captures/qemu-virt-run.cast contains a whole run: edk2 to the UEFI shell, the
collection there (dmem of the ACPI tables), the guest's boot, the Linux shell
collection (tables sent back as base64 with md5sums) and the power-off.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from armcheck.capture import MARKER, OUTPUT, read_capture
from armcheck.inputs import read_facts
from armcheck.session import LINUX_SHELL, UEFI_SHELL, read_run_state

CAPTURE = Path(__file__).resolve().parent.parent / "captures" / "qemu-virt-run.cast"
ARMCHECK = [sys.executable, "-m", "armcheck"]


def sources(facts, key: str) -> set[str]:
    return {obs.evidence.source for obs in facts.all(key)}


def test_run_state_reads_every_stage() -> None:
    state = read_run_state(CAPTURE)

    assert state.live
    assert state.complete
    assert state.reached == [
        "power-on",
        "firmware",
        "uefi-shell",
        "linux",
        "linux-shell",
        "power-off",
    ]


def test_run_state_command_blocks() -> None:
    commands = read_run_state(CAPTURE).commands
    shells = {block.shell for block in commands}

    assert shells == {UEFI_SHELL, LINUX_SHELL}
    assert all(block.start <= block.end for block in commands)
    assert any(block.command.startswith("dmem ") for block in commands)


def test_acpi_tables_from_uefi_shell_and_linux() -> None:
    facts = read_facts([CAPTURE])

    for key in ("acpi.spcr", "acpi.madt", "acpi.gtdt", "acpi.fadt", "acpi.dbg2"):
        assert {"uefi-shell", "linux-shell"} <= sources(facts, key), key


def test_linux_shell_tables_verified_by_md5() -> None:
    facts = read_facts([CAPTURE])
    linux_tables = {
        obs.value["signature"]
        for obs in facts.all("acpi.table")
        if obs.evidence.source == "linux-shell"
    }

    assert {"APIC", "DSDT", "FACP", "GTDT", "SPCR"} <= linux_tables
    assert not facts.seen("collect.transfer_error")


def test_dmesg_lines_not_counted_twice() -> None:
    facts = read_facts([CAPTURE])
    assert len(facts.all("linux.init")) == 1


def test_linux_shell_facts() -> None:
    facts = read_facts([CAPTURE])

    shell_devices = [
        obs.value for obs in facts.all("watchdog.devices") if obs.evidence.source == "linux-shell"
    ]

    assert shell_devices == [[]]
    assert "linux-shell" in sources(facts, "rtc.driver")
    assert "linux-shell" in sources(facts, "smbios.version")


def corrupt_first_table(source: Path, destination: Path) -> None:
    """Copy a capture, flipping one base64 character in the first table sent from Linux."""
    lines = source.read_text().splitlines(keepends=True)
    in_tables = False
    for index, raw in enumerate(lines[1:], start=1):
        event = json.loads(raw)
        if event[1] == MARKER and "/sys/firmware/acpi/tables" in event[2]:
            in_tables = True
        if in_tables and event[1] == OUTPUT and len(event[2]) > 40 and " " not in event[2]:
            text = event[2]
            event[2] = ("B" if text[10] != "B" else "C").join([text[:10], text[11:]])
            lines[index] = json.dumps(event) + "\n"
            break
    else:
        pytest.fail("no base64 output event found in the capture")
    destination.write_text("".join(lines))


def test_transfer_error_on_md5_mismatch(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.cast"
    corrupt_first_table(CAPTURE, damaged)

    facts = read_facts([damaged])

    assert facts.seen("collect.transfer_error")
    assert "does not match" in facts.value("collect.transfer_error")


def test_transfer_error_shown_by_check(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.cast"
    corrupt_first_table(CAPTURE, damaged)

    result = subprocess.run(
        [*ARMCHECK, "check", str(damaged), "--profile", "qemu-virt"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert "a table did not arrive intact" in result.stderr
    assert "does not match" in result.stderr


def test_kernel_message_inside_base64_is_dropped(tmp_path: Path) -> None:
    # A console message that lands in the middle of a base64 line, as when the
    # board's console log level was not lowered.
    lines = CAPTURE.read_text().splitlines(keepends=True)
    in_tables = False
    for index, raw in enumerate(lines[1:], start=1):
        event = json.loads(raw)
        if event[1] == MARKER and "/sys/firmware/acpi/tables" in event[2]:
            in_tables = True
        if in_tables and event[1] == OUTPUT and event[2].startswith("REJHMl"):
            text = event[2]
            event[2] = (
                text[:30] + "[    5.014496] usb 1-1: new high-speed USB device\r\n" + text[30:]
            )
            lines[index] = json.dumps(event) + "\n"
            break
    else:
        pytest.fail("no DBG2 base64 output event found in the capture")
    noisy = tmp_path / "noisy.cast"
    noisy.write_text("".join(lines))

    facts = read_facts([noisy])

    assert not facts.seen("collect.transfer_error")
    dbg2 = [obs for obs in facts.all("acpi.table") if obs.value["signature"] == "DBG2"]
    assert "linux-shell" in {obs.evidence.source for obs in dbg2}


def test_check_capture_qemu_virt_profile_passes(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"

    result = subprocess.run(
        [*ARMCHECK, "check", str(CAPTURE), "--profile", "qemu-virt", "--junit", str(junit)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    classnames = {case.get("classname") for case in ElementTree.parse(junit).iter("testcase")}
    assert "armcheck.qemu-virt.uart" in classnames


def test_check_capture_sbsa_l3_fails_watchdog_and_gic(tmp_path: Path) -> None:
    report = tmp_path / "report.json"

    result = subprocess.run(
        [*ARMCHECK, "check", str(CAPTURE), "--profile", "sbsa-l3", "--json", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    statuses = {item["id"]: item["status"] for item in json.loads(report.read_text())["results"]}

    assert result.returncode == 1
    assert statuses["watchdog.sbsa_generic"] == "failed"
    assert statuses["cpu.gic_version"] == "failed"
    assert statuses["uart.interface_type"] == "passed"


def test_capture_output_replays_byte_exact() -> None:
    capture = read_capture(CAPTURE)
    replay = subprocess.run(
        [*ARMCHECK, "replay", str(CAPTURE), "--speed", "100000"],
        capture_output=True,
        timeout=120,
    )

    assert replay.stdout == capture.output_bytes()
