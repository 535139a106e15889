"""Boot stage timing on captures: markers, stages, waits, statistics, kernel clock, baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from armcheck.capture import CaptureWriter
from armcheck.errors import UsageError
from armcheck.timing.baseline import compare, load_baseline, save_baseline
from armcheck.timing.kernel_clock import fit_kernel_clock
from armcheck.timing.markers import (
    DEFAULT_MARKERS,
    READY,
    load_marker_file,
    merge_markers,
    target_markers,
)
from armcheck.timing.stages import PrintkLine, analyse_capture
from armcheck.timing.statistics import summarize

MARKERS = list(DEFAULT_MARKERS)

# A TF-A + U-Boot + GRUB + Linux boot, (time, bytes) per console read.
UBOOT_BOOT = [
    (0.050, b"NOTICE:  BL1: v2.9(release):v2.9.0\r\n"),
    (0.100, b"NOTICE:  BL2: v2.9(release):v2.9.0\r\n"),
    (0.200, b"NOTICE:  BL31: v2.9(release):v2.9.0\r\n"),
    (0.300, b"\r\nU-Boot 2023.01 (Jan 01 2023 - 00:00:00 +0000)\r\n"),
    (0.500, b"Hit any key to stop autoboot:  3 "),
    (1.500, b"\x08\x08\x08 2 "),
    (2.500, b"\x08\x08\x08 1 "),
    (3.500, b"\x08\x08\x08 0 \r\n"),
    (3.600, b"Scanning for bootable devices\r\n"),
    (4.000, b"GNU GRUB  version 2.06\r\n"),
    (4.100, b"The highlighted entry will be executed automatically in 2s.\r\n"),
    (6.100, b"  Booting `Debian GNU/Linux'\r\n"),
    (7.000, b"EFI stub: Booting Linux Kernel...\r\n"),
    (8.000, b"[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd083]\r\n"),
    (8.500, b"[    0.500000] Serial: AMBA PL011 UART driver\r\n"),
    (9.000, b"[    1.000000] Run /sbin/init as init process\r\n"),
    (11.000, b"\r\nDebian GNU/Linux 12 board ttyAMA0\r\n\r\nboard login: "),
]


def write_capture(
    path: Path,
    chunks: list[tuple[float, bytes]],
    markers: list[tuple[float, str]] | None = None,
    inputs: list[tuple[float, str]] | None = None,
) -> Path:
    """Write a real capture file with the given reads, markers and input at the given times."""
    events: list[tuple[float, str, object]] = [(at, "o", data) for at, data in chunks]
    events += [(at, "m", label) for at, label in markers or []]
    events += [(at, "i", text) for at, text in inputs or []]
    events.sort(key=lambda event: event[0])
    with CaptureWriter(path, target="test-board") as capture:
        for at, kind, payload in events:
            if kind == "o":
                assert isinstance(payload, bytes)
                capture.output(payload, at)
            elif kind == "i":
                capture.input(str(payload), at)
            else:
                capture.mark(str(payload), at)
    return path


def shifted(chunks: list[tuple[float, bytes]], after: float, delta: float):
    """Return the reads with every read at or after `after` moved later by `delta` seconds."""
    return [(at + delta if at >= after else at, data) for at, data in chunks]


@pytest.fixture
def uboot_capture(tmp_path: Path) -> Path:
    return write_capture(tmp_path / "uboot.cast", UBOOT_BOOT)


def spans_by_name(path: Path, markers=MARKERS):
    timing = analyse_capture(path, markers)
    return {span.name: span for span in timing.spans}, timing


# ---- stages of one pass -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("reset", 0.0, 0.05),
        ("firmware", 0.05, 4.0),
        ("loader", 4.0, 8.0),
        ("kernel", 8.0, 9.0),
        ("userspace", 9.0, 11.0),
    ],
)
def test_stages_uboot_boot(uboot_capture: Path, name: str, start: float, end: float) -> None:
    spans, _ = spans_by_name(uboot_capture)
    assert spans[name].start == pytest.approx(start, abs=1e-6)
    assert spans[name].end == pytest.approx(end, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("bl1", 0.05, 0.1),
        ("bl2", 0.1, 0.2),
        ("bl31", 0.2, 0.3),
        ("u-boot", 0.3, 4.0),
    ],
)
def test_milestones_uboot_boot(uboot_capture: Path, name: str, start: float, end: float) -> None:
    spans, _ = spans_by_name(uboot_capture)
    assert spans[name].parent == "firmware"
    assert spans[name].start == pytest.approx(start, abs=1e-6)
    assert spans[name].end == pytest.approx(end, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "parent", "start", "end", "announced"),
    [
        ("u-boot-autoboot", "firmware", 0.5, 3.6, 3),
        ("grub-timeout", "loader", 4.1, 6.1, 2),
    ],
)
def test_waits_uboot_boot(
    uboot_capture: Path, name: str, parent: str, start: float, end: float, announced: int
) -> None:
    spans, _ = spans_by_name(uboot_capture)
    wait = spans[name]
    assert wait.kind == "wait"
    assert wait.parent == parent
    assert wait.start == pytest.approx(start, abs=1e-6)
    assert wait.end == pytest.approx(end, abs=1e-6)
    assert wait.announced == announced


def test_stages_power_on_marker(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "p.cast", shifted(UBOOT_BOOT, 0.0, 2.0), [(1.0, "power-on")])
    spans, _ = spans_by_name(path)
    assert spans["reset"].duration == pytest.approx(1.05, abs=1e-6)
    assert spans["firmware"].start == pytest.approx(1.05, abs=1e-6)


def test_stages_without_loader_line(tmp_path: Path) -> None:
    chunks = [
        chunk for chunk in UBOOT_BOOT if b"EFI stub" not in chunk[1] and b"GRUB" not in chunk[1]
    ]
    spans, _ = spans_by_name(write_capture(tmp_path / "direct.cast", chunks))
    assert "loader" not in spans
    assert spans["firmware"].end == pytest.approx(8.0, abs=1e-6)


def test_stages_boot_unfinished(tmp_path: Path) -> None:
    spans, timing = spans_by_name(write_capture(tmp_path / "cut.cast", UBOOT_BOOT[:-2]))
    assert timing.complete is False
    assert spans["kernel"].open is True
    assert spans["kernel"].end == pytest.approx(8.5, abs=1e-6)


def test_stages_empty_capture(tmp_path: Path) -> None:
    timing = analyse_capture(write_capture(tmp_path / "empty.cast", []), MARKERS)
    assert timing.spans == []


def test_stages_shutdown_ends_boot(tmp_path: Path) -> None:
    chunks = UBOOT_BOOT[:-1] + [(9.5, b"[    1.500000] reboot: Power down\r\n")]
    spans, timing = spans_by_name(write_capture(tmp_path / "down.cast", chunks))
    assert timing.complete is True
    assert spans["userspace"].end == pytest.approx(9.5, abs=1e-6)


def test_phase_from_capture_marker(tmp_path: Path) -> None:
    chunks = [
        (0.1, b"UEFI firmware (version 1.0)\r\n"),
        (1.0, b"Shell> "),
        (3.0, b"\r\nEFI stub: Booting Linux Kernel...\r\n"),
        (4.0, b"Booting Linux on physical CPU 0x0\r\n"),
    ]
    spans, _ = spans_by_name(write_capture(tmp_path / "shell.cast", chunks, [(1.2, "uefi-shell")]))
    shell = spans["uefi-shell"]
    assert shell.kind == "phase"
    assert shell.parent == "firmware"
    assert shell.duration == pytest.approx(1.8, abs=1e-6)


def test_edk2_countdown_rewritten(tmp_path: Path) -> None:
    # EDK2's shell rewrites the count in place with a cursor move on the same row.
    chunks = [
        (0.1, b"UEFI firmware (version 1.0)\r\n"),
        (0.5, b"\x1b[1;1HPress ESC in 5 seconds to skip startup.nsh"),
        (1.5, b"\x1b[1;1HPress ESC in 4 seconds to skip startup.nsh"),
        (5.5, b"\x1b[1;1HPress ESC in 0 seconds to skip startup.nsh\r\n"),
        (5.6, b"Shell> "),
    ]
    spans, _ = spans_by_name(write_capture(tmp_path / "esc.cast", chunks))
    wait = spans["edk2-shell-countdown"]
    assert wait.duration == pytest.approx(5.1, abs=1e-6)
    assert wait.announced == 5


# ---- markers --------------------------------------------------------------------------------


def test_marker_file_adds_ready(tmp_path: Path) -> None:
    marker_file = tmp_path / "markers.yaml"
    marker_file.write_text(
        "markers:\n  - {name: uefi-shell-prompt, role: ready, pattern: 'Shell>'}\n"
    )
    markers = load_marker_file(marker_file)
    assert markers[-1].role == READY
    assert len(markers) == len(MARKERS) + 1


def test_marker_file_overrides_pattern(tmp_path: Path) -> None:
    marker_file = tmp_path / "markers.yaml"
    marker_file.write_text("- {name: linux, pattern: 'Linux starts'}\n")
    markers = load_marker_file(marker_file)
    linux = next(marker for marker in markers if marker.name == "linux")
    assert linux.pattern == "Linux starts"
    assert linux.role == "kernel"


def test_marker_file_disables(tmp_path: Path) -> None:
    marker_file = tmp_path / "markers.yaml"
    marker_file.write_text("- {name: bl31, enabled: false}\n")
    names = {marker.name for marker in load_marker_file(marker_file)}
    assert "bl31" not in names


def test_marker_file_without_defaults() -> None:
    document = {"defaults": False, "markers": [{"name": "k", "role": "kernel", "pattern": "K"}]}
    assert [marker.name for marker in merge_markers(MARKERS, document, "x")] == ["k"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {name: x, role: kernel, pattern: '('}\n", "invalid pattern"),
        ("- {name: x, role: sometime, pattern: 'a'}\n", "invalid role"),
        ("- {name: x, role: kernel}\n", "missing `pattern`"),
        ("- {name: 'a b', role: kernel, pattern: a}\n", "invalid name"),
        ("- {name: x, role: kernel, pattern: a, colour: red}\n", "unknown key"),
        ("markers: [\n", "invalid YAML"),
        ("42\n", "expected a list"),
    ],
)
def test_marker_file_rejects(tmp_path: Path, text: str, message: str) -> None:
    marker_file = tmp_path / "bad.yaml"
    marker_file.write_text(text)
    with pytest.raises(UsageError, match=message) as caught:
        load_marker_file(marker_file)
    assert str(marker_file) in str(caught.value)


def test_marker_file_not_utf8(tmp_path: Path) -> None:
    marker_file = tmp_path / "latin1.yaml"
    marker_file.write_bytes(b"- {name: x, role: kernel, pattern: '\xe9'}\n")
    with pytest.raises(UsageError, match="not UTF-8") as caught:
        load_marker_file(marker_file)
    assert str(marker_file) in str(caught.value)


def test_marker_from_target_option() -> None:
    options = {"timing": {"markers": [{"name": "bmc", "role": "milestone", "pattern": "BMC"}]}}
    markers = target_markers(options, "board", MARKERS)
    assert markers[-1].name == "bmc"


def test_marker_target_overrides_file(tmp_path: Path) -> None:
    # A custom kernel marker from a target file is found in the capture.
    options = {"timing.markers": [{"name": "linux", "pattern": r"Linux version"}]}
    markers = target_markers(options, "board", MARKERS)
    chunks = [(0.1, b"fw\r\n"), (1.0, b"Linux version 6.1\r\n")]
    spans, _ = spans_by_name(write_capture(tmp_path / "k.cast", chunks), markers)
    assert spans["kernel"].start == pytest.approx(1.0, abs=1e-6)


# ---- statistics -----------------------------------------------------------------------------


@pytest.fixture
def three_passes(tmp_path: Path) -> list[Path]:
    # The kernel stage lasts 1.0, 1.2 and 1.4 s.
    return [
        write_capture(tmp_path / f"pass{index}.cast", shifted(UBOOT_BOOT, 9.0, 0.2 * index))
        for index in range(3)
    ]


def test_summary_kernel_stats(three_passes: list[Path]) -> None:
    report = summarize([analyse_capture(path, MARKERS) for path in three_passes])
    kernel = report.stage("kernel")
    assert kernel is not None
    assert kernel.duration == pytest.approx(1.2, abs=1e-6)
    assert kernel.stddev == pytest.approx(0.163299, abs=1e-6)
    assert kernel.min == pytest.approx(1.0, abs=1e-6)
    assert kernel.max == pytest.approx(1.4, abs=1e-6)
    assert kernel.share == pytest.approx(100 * 1.2 / 11.2, abs=1e-6)


def test_summary_stage_order(three_passes: list[Path]) -> None:
    report = summarize([analyse_capture(path, MARKERS) for path in three_passes])
    top = [stage.name for stage in report.stages if stage.kind == "stage"]
    assert top == ["reset", "firmware", "loader", "kernel", "userspace"]


def test_summary_json_keys(three_passes: list[Path]) -> None:
    data = summarize([analyse_capture(path, MARKERS) for path in three_passes]).to_json()
    assert data["passes"] == 3
    for key in ("name", "start", "duration", "stddev", "min", "max", "share", "parent"):
        assert key in data["stages"][0]
    assert [wait["name"] for wait in data["waits"]] == ["u-boot-autoboot", "grub-timeout"]


# ---- kernel clock ---------------------------------------------------------------------------


def test_kernel_clock_fit() -> None:
    points = [PrintkLine(n, 0.1 * n, 2.0 + 0.1 * n * 1.0001) for n in range(20)]
    fit = fit_kernel_clock(points)
    assert fit is not None
    assert fit.offset == pytest.approx(2.0, abs=1e-9)
    assert fit.drift_ppm == pytest.approx(100.0, abs=1e-3)
    assert fit.late == []


def test_kernel_clock_late_lines() -> None:
    # Lines 0-4 were buffered until the console came up at host time 3.0.
    points = [PrintkLine(n, 0.1 * n, 3.0 if n < 5 else 2.0 + 0.1 * n) for n in range(30)]
    fit = fit_kernel_clock(points)
    assert fit is not None
    assert fit.offset == pytest.approx(2.0, abs=1e-6)
    assert [line.line for line in fit.late] == [0, 1, 2, 3, 4]
    assert fit.late[0].late == pytest.approx(1.0, abs=1e-6)


def test_kernel_clock_too_few_lines() -> None:
    assert fit_kernel_clock([PrintkLine(1, 0.0, 1.0)]) is None


def test_kernel_clock_in_report(uboot_capture: Path) -> None:
    report = summarize([analyse_capture(uboot_capture, MARKERS)])
    assert report.kernel_clock["offset"] == pytest.approx(8.0, abs=1e-6)
    assert report.kernel_clock["lines"] == 3


# ---- baseline -------------------------------------------------------------------------------


def test_baseline_unchanged_passes(uboot_capture: Path, tmp_path: Path) -> None:
    report = summarize([analyse_capture(uboot_capture, MARKERS)])
    save_baseline(report, tmp_path / "base.json")
    comparisons = compare(report, load_baseline(tmp_path / "base.json"), 10.0)
    assert not any(item.regressed for item in comparisons)


def test_baseline_slow_kernel_fails(uboot_capture: Path, tmp_path: Path) -> None:
    save_baseline(summarize([analyse_capture(uboot_capture, MARKERS)]), tmp_path / "base.json")
    slow = write_capture(tmp_path / "slow.cast", shifted(UBOOT_BOOT, 9.0, 0.5))
    comparisons = compare(
        summarize([analyse_capture(slow, MARKERS)]), load_baseline(tmp_path / "base.json"), 10.0
    )
    regressed = sorted(item.name for item in comparisons if item.regressed)
    assert regressed == ["kernel"]


def test_baseline_growth_within_noise(uboot_capture: Path, tmp_path: Path) -> None:
    # 5 ms more on a 1 s stage with a 1 % limit: over the percentage, under the noise floor.
    save_baseline(summarize([analyse_capture(uboot_capture, MARKERS)]), tmp_path / "base.json")
    slower = write_capture(tmp_path / "s.cast", shifted(UBOOT_BOOT, 9.0, 0.005))
    report = summarize([analyse_capture(slower, MARKERS)])
    comparisons = compare(report, load_baseline(tmp_path / "base.json"), 0.1, noise_floor=0.010)
    assert not any(item.regressed for item in comparisons)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not JSON"), ('{"passes": 1}', "no `stages` list"), ('{"stages": [{}]}', "invalid")],
)
def test_baseline_rejects(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_baseline(path)


def test_baseline_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read baseline"):
        load_baseline(tmp_path / "none.json")


def test_baseline_json_round_trip(uboot_capture: Path, tmp_path: Path) -> None:
    report = summarize([analyse_capture(uboot_capture, MARKERS)])
    save_baseline(report, tmp_path / "b.json")
    data = json.loads((tmp_path / "b.json").read_text())
    assert data == json.loads(json.dumps(report.to_json()))


def test_marker_yaml_example_parses() -> None:
    # The example in docs/timing.md must stay a valid marker file.
    docs = Path(__file__).resolve().parents[1] / "docs" / "timing.md"
    text = docs.read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    markers = merge_markers(MARKERS, yaml.safe_load(block), "docs/timing.md")
    assert any(marker.name == "bl33" for marker in markers)


def test_kernel_clock_burst_before_console() -> None:
    # The console driver starts at kernel time 0.5: the 50 lines printed before
    # it arrive together at host time 2.5, then lines arrive 2.0 s after printing.
    burst = [PrintkLine(n, 0.005 + 0.01 * n, 2.5) for n in range(50)]
    steady = [PrintkLine(50 + n, 0.5 + 0.09 * n, 2.5 + 0.09 * n) for n in range(50)]
    fit = fit_kernel_clock(burst + steady)
    assert fit is not None
    assert fit.offset == pytest.approx(2.0, abs=0.001)
    assert abs(fit.drift_ppm) < 500
    assert len(fit.late) == 40


def test_milestones_same_read(tmp_path: Path) -> None:
    # Both BdsDxe lines arrive in one read: the first span ends where the second starts.
    chunks = [
        (0.1, b"UEFI firmware (version 1.0)\r\n"),
        (0.5, b"BdsDxe: loading Boot0001\r\nBdsDxe: starting Boot0001\r\n"),
        (2.0, b"EFI stub: Booting Linux Kernel...\r\n"),
    ]
    spans, _ = spans_by_name(write_capture(tmp_path / "same.cast", chunks))
    assert spans["bds-loading"].duration == 0.0
    assert spans["bds-starting"].duration == pytest.approx(1.5, abs=1e-6)


RUN_MARKERS = [
    (0.0, "run"),
    (0.0, "power-on"),
    (0.0, "firmware"),
    (1.2, "uefi-shell"),
    (1.3, "command uefi-shell: ver"),
    (2.9, "command uefi-shell: FS0:\\vmlinuz"),
    (3.05, "linux"),
    (11.5, "linux-shell"),
    (11.6, "command linux-shell: uname -a"),
    (12.0, "power-off"),
    (12.5, "complete"),
]


@pytest.fixture
def run_capture(tmp_path: Path) -> Path:
    chunks = [
        (0.1, b"UEFI firmware (version 1.0)\r\n"),
        (1.0, b"Shell> "),
        (3.0, b"\r\nEFI stub: Booting Linux Kernel...\r\n"),
        (4.0, b"[    0.000000] Booting Linux on physical CPU 0x0\r\n"),
        (10.0, b"[    6.000000] Run /init as init process\r\n"),
        (11.0, b"/ # "),
        (11.7, b"uname -a\r\nLinux guest 6.1.0 aarch64\r\n/ # "),
    ]
    typed = [(1.3, "ver\r"), (2.9, "FS0:\\vmlinuz\r"), (11.6, "uname -a\r")]
    return write_capture(tmp_path / "run.cast", chunks, RUN_MARKERS, typed)


@pytest.mark.parametrize(
    ("name", "parent", "start", "end"),
    [("uefi-shell", "firmware", 1.2, 3.0), ("linux", "loader", 3.05, 4.0)],
)
def test_phases_run_capture(
    run_capture: Path, name: str, parent: str, start: float, end: float
) -> None:
    spans, _ = spans_by_name(run_capture)
    assert spans[name].kind == "phase"
    assert spans[name].parent == parent
    assert spans[name].start == pytest.approx(start, abs=1e-6)
    assert spans[name].end == pytest.approx(end, abs=1e-6)


def test_phases_run_capture_names(run_capture: Path) -> None:
    # Point markers, command markers, stage names and phases after the boot are left out.
    spans, _ = spans_by_name(run_capture)
    phases = sorted(name for name, span in spans.items() if span.kind == "phase")
    assert phases == ["linux", "uefi-shell"]


def test_ready_prompt_with_echo(run_capture: Path) -> None:
    # "/ # uname -a": the prompt line ends with the echo of the typed command.
    _, timing = spans_by_name(run_capture)
    assert timing.total == pytest.approx(11.0, abs=1e-6)


def test_ready_prompt_wrapped_echo(tmp_path: Path) -> None:
    # The terminal wrapped the echo of a long command: the prompt line ends mid-command.
    chunks = [
        (0.1, b"Booting Linux on physical CPU 0x0\r\n"),
        (1.0, b"Run /init as init process\r\n"),
        (2.0, b"# "),
        (2.5, b"stty -echo; export PS1='READY# '\r\n  more of it\r\n"),
    ]
    typed = [(2.4, "stty -echo; export PS1='READY# '\r")]
    _, timing = spans_by_name(write_capture(tmp_path / "wrap.cast", chunks, None, typed))
    assert timing.total == pytest.approx(2.0, abs=1e-6)


def test_kernel_lines_after_boot_ignored(run_capture: Path, tmp_path: Path) -> None:
    # dmesg output typed after the shell prompt repeats old printk lines: not boot evidence.
    chunks = [
        (4.0, b"[    0.000000] Booting Linux on physical CPU 0x0\r\n"),
        (4.5, b"[    0.500000] Serial: AMBA PL011 UART driver\r\n"),
        (5.0, b"[    1.000000] Run /init as init process\r\n"),
        (6.0, b"/ # "),
        (7.0, b"dmesg\r\n[    0.000000] Booting Linux on physical CPU 0x0\r\n/ # "),
    ]
    path = write_capture(tmp_path / "dmesg.cast", chunks, None, [(6.5, "dmesg\r")])
    _, timing = spans_by_name(path)
    assert [line.kernel_time for line in timing.printk] == [0.0, 0.5, 1.0]


def test_output_before_power_on_ignored(tmp_path: Path) -> None:
    chunks = [(0.2, b"login: \r\n"), (1.5, b"UEFI firmware (version 1.0)\r\n")]
    path = write_capture(tmp_path / "before.cast", chunks, [(1.0, "power-on")])
    spans, _ = spans_by_name(path)
    assert spans["reset"].duration == pytest.approx(0.5, abs=1e-6)


def test_phase_repeated_names(tmp_path: Path) -> None:
    chunks = [
        (0.1, b"UEFI firmware (version 1.0)\r\n"),
        (5.0, b"Booting Linux on physical CPU\r\n"),
    ]
    markers = [(1.0, "uefi-shell"), (2.0, "setup"), (3.0, "uefi-shell")]
    spans, _ = spans_by_name(write_capture(tmp_path / "again.cast", chunks, markers))
    assert spans["uefi-shell"].end == pytest.approx(2.0, abs=1e-6)
    assert spans["uefi-shell-2"].end == pytest.approx(5.0, abs=1e-6)
