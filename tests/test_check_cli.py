"""`armcheck check` and `armcheck profiles` run as a user runs them, on real qemu logs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
QEMU_LINUX = FIXTURES / "qemu-virt-gicv2-edk2-linux.log"
QEMU_SHELL = FIXTURES / "qemu-virt-gicv2-edk2-shell.log"
TABLES = Path(__file__).parent / "fixtures" / "tables"
SPCR_CHECKS = [
    "uart.spcr_present",
    "uart.spcr_revision",
    "uart.interface_type",
    "uart.base_address",
    "uart.line_settings",
]


def armcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "armcheck", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def junit_statuses(path: Path) -> dict[str, str]:
    statuses = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        statuses[case.get("name", "")] = kinds[0] if kinds else "passed"
    return statuses


@pytest.fixture(scope="module")
def sbsa_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    junit = tmp_path_factory.mktemp("sbsa") / "report.xml"
    result = armcheck(
        "check",
        str(QEMU_LINUX),
        "--profile",
        "sbsa-l3",
        "--junit",
        str(junit),
        "--target",
        "qemu-virt",
    )
    return result, junit


def test_sbsa_l3_exits_failed(sbsa_run) -> None:
    assert sbsa_run[0].returncode == 1, sbsa_run[0].stderr


def test_sbsa_l3_fails_watchdog(sbsa_run) -> None:
    assert junit_statuses(sbsa_run[1])["watchdog.sbsa_generic"] == "failure"


def test_sbsa_l3_fails_gic_version(sbsa_run) -> None:
    assert junit_statuses(sbsa_run[1])["cpu.gic_version"] == "failure"


@pytest.mark.parametrize("check_id", SPCR_CHECKS)
def test_sbsa_l3_passes_spcr(sbsa_run, check_id: str) -> None:
    assert junit_statuses(sbsa_run[1])[check_id] == "passed"


def test_sbsa_l3_terminal_totals(sbsa_run) -> None:
    assert "3 failed" in sbsa_run[0].stdout.splitlines()[-1]


def test_sbsa_l3_junit_classname(sbsa_run) -> None:
    case = ET.parse(sbsa_run[1]).getroot().find(".//testcase[@name='cpu.gic_version']")
    assert case is not None and case.get("classname") == "armcheck.qemu-virt.cpu"


def test_sbsa_l3_junit_firmware_property(sbsa_run) -> None:
    values = {
        p.get("name"): p.get("value") for p in ET.parse(sbsa_run[1]).getroot().iter("property")
    }
    assert values["firmware.vendor"] == "EDK II"


def test_qemu_virt_waives_watchdog(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = armcheck("check", str(QEMU_LINUX), "--profile", "qemu-virt", "--junit", str(junit))
    assert result.returncode == 0
    assert "WAIVED  watchdog.sbsa_generic" in result.stdout


def test_qemu_virt_waiver_reason_in_junit(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    armcheck("check", str(QEMU_LINUX), "--profile", "qemu-virt", "--junit", str(junit))
    case = ET.parse(junit).getroot().find(".//testcase[@name='watchdog.sbsa_generic']/skipped")
    assert case is not None and "no SBSA generic watchdog" in case.get("message", "")


def test_shell_and_linux_logs_together(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    armcheck(
        "check", str(QEMU_SHELL), str(QEMU_LINUX), "--profile", "qemu-virt", "--junit", str(junit)
    )
    assert junit_statuses(junit)["smbios.required_types"] == "skipped"


def test_shell_log_smbios_types_fail_sbbr(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = armcheck("check", str(QEMU_SHELL), "--profile", "sbbr", "--junit", str(junit))
    assert result.returncode == 1
    assert junit_statuses(junit)["smbios.required_types"] == "failure"


@pytest.mark.parametrize(
    "name, size", [("qemu-virt-smbios.bin", 100), ("qemu-virt-dmidecode-t-bios.txt", None)]
)
def test_incomplete_smbios_table_exits_3(tmp_path: Path, name: str, size: int | None) -> None:
    data = (TABLES / name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[:size])
    junit = tmp_path / "report.xml"
    result = armcheck("check", str(cut), "--profile", "sbbr", "--junit", str(junit))
    assert result.returncode == 3
    assert junit_statuses(junit)["smbios.required_types"] == "error"
    assert "the SMBIOS structure table is incomplete" in result.stdout


def test_strict_counts_warnings(tmp_path: Path) -> None:
    profile = tmp_path / "tables.yaml"
    profile.write_text("checks:\n  acpi.recommended_tables:\n", encoding="utf-8")
    result = armcheck("check", str(QEMU_LINUX), "--profile", str(profile), "--strict")
    plain = armcheck("check", str(QEMU_LINUX), "--profile", str(profile))
    assert plain.returncode == 0
    assert result.returncode == 1


def test_json_report(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    armcheck("check", str(QEMU_LINUX), "--profile", "sbsa-l3", "--json", str(path))
    document = json.loads(path.read_text(encoding="utf-8"))
    failed = sorted(r["id"] for r in document["results"] if r["status"] == "failed")
    assert failed == ["cpu.gic_version", "watchdog.os_driver", "watchdog.sbsa_generic"]


def test_facts_json_input(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(armcheck("facts", "--json", str(QEMU_LINUX)).stdout, encoding="utf-8")
    result = armcheck("check", str(facts), "--profile", "sbsa-l3")
    assert result.returncode == 1


def test_bad_profile_exits_usage(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("extends: sbbr\nwaivers:\n  watchdog.bogus:\n    reason: x\n")
    result = armcheck("check", str(QEMU_LINUX), "--profile", str(profile))
    assert result.returncode == 2
    assert f"{profile}:3" in result.stderr


def test_unwritable_junit_exits_usage(tmp_path: Path) -> None:
    # A file where the report's folder should be makes the path unwritable.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    junit = blocker / "report.xml"
    result = armcheck("check", str(QEMU_LINUX), "--junit", str(junit))
    assert result.returncode == 2
    assert f"cannot write JUnit file {junit}" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_input_exits_usage(tmp_path: Path) -> None:
    data = tmp_path / "random.bin"
    data.write_bytes(bytes(range(256)) * 8)
    assert armcheck("check", str(data)).returncode == 2


def test_profiles_lists_shipped() -> None:
    names = [line.split()[0] for line in armcheck("profiles").stdout.splitlines()]
    assert names == ["bsa", "ebbr", "gigabyte-mp30-ar0", "qemu-virt", "sbbr", "sbsa-l3"]


def test_profiles_shows_resolved() -> None:
    document = json.loads(armcheck("profiles", "sbsa-l3", "--json").stdout)
    assert document["checks"]["cpu.gic_version"]["params"] == {"min_version": 3}


def test_profiles_shows_waivers() -> None:
    assert "no SBSA generic watchdog" in armcheck("profiles", "qemu-virt").stdout


def test_profiles_catalogue() -> None:
    assert "uart.spcr_present  SPCR table present" in armcheck("profiles", "--checks").stdout


CAPTURES = Path(__file__).parent.parent / "captures"


@pytest.fixture(scope="module")
def capture_statuses(tmp_path_factory: pytest.TempPathFactory):
    """Return a function giving the JUnit statuses of one capture under sbsa-l3, run once each."""
    cache: dict[str, dict[str, str]] = {}

    def statuses(capture: str) -> dict[str, str]:
        if capture not in cache:
            junit = tmp_path_factory.mktemp("capture") / "report.xml"
            armcheck(
                "check", str(CAPTURES / capture), "--profile", "sbsa-l3", "--junit", str(junit)
            )
            cache[capture] = junit_statuses(junit)
        return cache[capture]

    return statuses


@pytest.mark.parametrize(
    "capture, check_id, status",
    [
        ("qemu-virt-edk2-linux.cast", "watchdog.sbsa_generic", "failure"),
        ("qemu-virt-edk2-linux.cast", "cpu.gic_version", "failure"),
        ("qemu-virt-edk2-linux.cast", "uart.interface_type", "passed"),
        ("qemu-virt-gicv3-edk2-shell.cast", "cpu.gic_version", "passed"),
        ("qemu-virt-gicv3-edk2-shell.cast", "uart.interrupt", "passed"),
        ("qemu-virt-gicv3-edk2-shell.cast", "watchdog.sbsa_generic", "failure"),
        ("qemu-virt-uboot-linux.cast", "uefi.acpi_boot", "failure"),
    ],
)
def test_recorded_capture_verdict(
    capture_statuses, capture: str, check_id: str, status: str
) -> None:
    if not (CAPTURES / capture).is_file():
        pytest.skip(f"{CAPTURES / capture} is not in this checkout")
    assert capture_statuses(capture)[check_id] == status


def test_run_capture_json_has_run(tmp_path: Path) -> None:
    # The JSON report of `armcheck check` on a capture of `armcheck run` records
    # how far that run got, as the report of the live run does.
    report = tmp_path / "report.json"
    armcheck("check", str(CAPTURES / "qemu-virt-run.cast"), "--json", str(report))
    run = json.loads(report.read_text())["run"]
    assert "linux-shell" in run["reached"]
    assert run["complete"] is True


def test_log_json_has_no_run(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    armcheck("check", str(QEMU_LINUX), "--json", str(report))
    assert "run" not in json.loads(report.read_text())


def test_hostile_console_junit_parses(tmp_path: Path) -> None:
    log = tmp_path / "hostile.log"
    log.write_bytes(
        b"[    0.000000] Linux version 6.1.0-57-arm64 (debian-kernel@lists.debian.org)\r\n"
        b"[    0.100000] ACPI: [Firmware Bug]: \x1b[31mbad\x1b[0m \x00\x07 \xff\xfe ]]> <x> &\r\n"
    )
    junit = tmp_path / "report.xml"
    armcheck("check", str(log), "--profile", "sbbr", "--junit", str(junit))
    failure = ET.parse(junit).getroot().find(".//testcase[@name='linux.firmware_bugs']/failure")
    assert failure is not None
    assert "]]>" in (failure.text or "")


def test_text_without_evidence_rejected(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Meeting notes\nNothing about firmware here.\n")

    result = armcheck("check", str(notes))

    assert result.returncode == 2
    assert f"{notes}: not a known input: none of its 2 lines" in result.stderr


def test_run_capture_uses_recorded_profile() -> None:
    capture = Path(__file__).resolve().parent.parent / "captures" / "qemu-virt-run.cast"

    result = armcheck("check", str(capture))

    assert result.stdout.splitlines()[0] == "profile: qemu-virt"
    assert result.returncode == 0


def test_damaged_capture_exits_3(tmp_path: Path) -> None:
    capture = Path(__file__).resolve().parent.parent / "captures" / "qemu-virt-run.cast"
    lines = capture.read_text().splitlines(keepends=True)
    damaged = tmp_path / "damaged.cast"
    damaged.write_text("".join(lines[:40]) + '[1.0, "o", not json]\n' + "".join(lines[40:80]))

    result = armcheck("check", str(damaged))

    assert result.returncode == 3
    assert f"{damaged}:41: invalid capture event" in result.stderr


def test_check_cut_run_capture_says_why(tmp_path: Path) -> None:
    # A run capture cut inside its last event, the `complete` marker.
    source = Path(__file__).parents[1] / "captures" / "qemu-virt-run.cast"
    data = source.read_bytes().rstrip(b"\n")
    cut = tmp_path / "cut.cast"
    cut.write_bytes(data[:-5])
    result = armcheck("check", str(cut))
    assert result.returncode == 3
    assert "ends before the run's `complete` marker" in result.stderr
    assert "interrupted" not in result.stderr
    assert result.stderr.count("skipped a truncated last event") == 1


def test_check_warns_inputs_of_two_boards() -> None:
    fixtures = Path(__file__).parent / "fixtures" / "checks"
    result = armcheck(
        "check",
        str(fixtures / "xgene-mustang-excerpt.log"),
        str(fixtures / "thunderx-r120-t33-excerpt.log"),
    )
    assert "the inputs disagree on gic.version: 2 in" in result.stderr
    assert "thunderx-r120-t33-excerpt.log" in result.stderr


def test_check_warns_folder_of_two_boards(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("xgene-mustang-excerpt.log", "thunderx-r120-t33-excerpt.log"):
        shutil.copy(FIXTURES / name, folder / name)
    result = armcheck("check", str(folder))
    assert "the inputs disagree on gic.version: 3 in" in result.stderr
    assert "thunderx-r120-t33-excerpt.log" in result.stderr
    assert "2 in " in result.stderr


def test_check_folder_of_one_boot_no_warning(tmp_path: Path) -> None:
    # The tables of one qemu machine in three forms.
    folder = tmp_path / "boot"
    shutil.copytree(TABLES / "qemu-virt", folder)
    for name in ("qemu-virt-acpidump.txt", "qemu-virt-dmidecode.txt", "qemu-virt-smbios.bin"):
        shutil.copy(TABLES / name, folder)
    result = armcheck("check", str(folder))
    assert "disagree" not in result.stderr


def test_check_one_board_inputs_no_warning() -> None:
    fixtures = Path(__file__).parent / "fixtures" / "checks"
    result = armcheck(
        "check",
        str(fixtures / "qemu-virt-gicv2-edk2-linux.log"),
        str(fixtures / "qemu-virt-gicv2-edk2-shell.log"),
    )
    assert "disagree" not in result.stderr


def test_report_json_rejected(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    armcheck("check", str(QEMU_LINUX), "--profile", "qemu-virt", "--json", str(report))
    result = armcheck("check", str(report))
    assert result.returncode == 2
    assert "an armcheck report, not the output of `armcheck facts --json`" in result.stderr


def test_malformed_facts_json_rejected(tmp_path: Path) -> None:
    document = tmp_path / "facts.json"
    document.write_text('{"facts": {"x": [1]}}')
    result = armcheck("check", str(document))
    assert result.returncode == 2
    assert "`facts.x` is not a list of observations" in result.stderr


def test_damaged_table_gives_error_not_skip(tmp_path: Path) -> None:
    tables = Path(__file__).parent / "fixtures" / "tables" / "qemu-virt"
    spcr = tables.joinpath("spcr.dat").read_bytes()
    damaged = tmp_path / "spcr.dat"
    damaged.write_bytes(spcr[:4] + (20).to_bytes(4, "little") + spcr[8:])
    result = armcheck("check", str(damaged), "--profile", "sbbr")
    assert result.returncode == 3
    assert "PASS    uart.spcr_present" in result.stdout
    assert (
        "ERROR   uart.interface_type       not decided: the SPCR table is damaged: "
        "length field 20 is shorter than the 36-byte header"
    ) in result.stdout


def test_folder_with_cut_table_gives_error(tmp_path: Path) -> None:
    # A table cut inside its header is still a table of the folder, not a foreign file.
    folder = tmp_path / "tables"
    shutil.copytree(Path(__file__).parent / "fixtures" / "tables" / "qemu-virt", folder)
    (folder / "spcr.dat").write_bytes((folder / "spcr.dat").read_bytes()[:30])
    result = armcheck("check", str(folder), "--profile", "sbbr")
    assert "FAIL    uart.spcr_present" not in result.stdout
    assert "cut inside its header: 30 of 36 bytes present" in result.stdout
    assert "does not read" not in result.stderr
