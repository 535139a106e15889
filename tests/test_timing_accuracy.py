"""Timing accuracy end to end: a known boot schedule on a real pseudo-terminal.

A separate process writes boot messages on a pty at known offsets. After
`armcheck capture` records them, `armcheck time` must give every span within
5 ms of the schedule. A capture replayed through `armcheck replay --pty` and
recorded again must give the same spans.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from armcheck.cli import main
from armcheck.timing.accuracy import record_replay, record_schedule
from armcheck.timing.markers import DEFAULT_MARKERS
from armcheck.timing.schedule import BOOT_SCHEDULE, EXPECTED_KERNEL_OFFSET, EXPECTED_SPANS
from armcheck.timing.stages import analyse_capture

TOLERANCE = 0.005
OFFSETS = [offset for offset, _data in BOOT_SCHEDULE]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    return record_schedule(tmp_path_factory.mktemp("schedule") / "schedule.cast")


@pytest.fixture(scope="module")
def schedule_capture(recorded: tuple[Path, list[float]]) -> Path:
    return recorded[0]


@pytest.fixture(scope="module")
def written(recorded: tuple[Path, list[float]]) -> list[float]:
    """When the writer really wrote each message, from its first write.

    On a busy machine the writer itself can wake late; armcheck is measured
    against what was written when, not against the plan.
    """
    assert len(recorded[1]) == len(BOOT_SCHEDULE)
    return recorded[1]


def written_at(written: list[float], planned: float) -> float:
    """The real offset of the message planned for `planned` seconds."""
    return written[OFFSETS.index(round(planned, 3))]


@pytest.fixture(scope="module")
def schedule_json(schedule_capture: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    output = tmp_path_factory.mktemp("json") / "timing.json"
    result = CliRunner().invoke(main, ["time", str(schedule_capture), "--json", str(output)])
    assert result.exit_code == 0, result.output
    return json.loads(output.read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED_SPANS))
def test_schedule_duration(schedule_json: dict, written: list[float], name: str) -> None:
    stages = {stage["name"]: stage for stage in schedule_json["stages"]}
    start, duration = EXPECTED_SPANS[name]
    expected = written_at(written, start + duration) - written_at(written, start)
    assert stages[name]["duration"] == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("name", sorted(EXPECTED_SPANS))
def test_schedule_start(schedule_json: dict, written: list[float], name: str) -> None:
    # Offsets are counted from the first byte: the reset stage is the attach delay.
    stages = {stage["name"]: stage for stage in schedule_json["stages"]}
    first_byte = stages["firmware"]["start"]
    start = stages[name]["start"] - first_byte
    assert start == pytest.approx(written_at(written, EXPECTED_SPANS[name][0]), abs=TOLERANCE)


def test_schedule_kernel_offset(schedule_json: dict, written: list[float]) -> None:
    stages = {stage["name"]: stage for stage in schedule_json["stages"]}
    offset = schedule_json["kernel_clock"]["offset"] - stages["firmware"]["start"]
    assert offset == pytest.approx(written_at(written, EXPECTED_KERNEL_OFFSET), abs=TOLERANCE)


def test_schedule_written_near_plan(written: list[float]) -> None:
    # A sanity bound on the writer only: far off, the spans above stop meaning much.
    for planned, real in zip(OFFSETS, written):
        assert real == pytest.approx(planned, abs=0.1)


def test_schedule_no_late_lines(schedule_json: dict) -> None:
    assert schedule_json["kernel_clock"]["late_count"] == 0


def test_replay_same_durations(schedule_capture: Path, tmp_path: Path) -> None:
    replayed = record_replay(schedule_capture, tmp_path / "replayed.cast")
    original = {s.name: s for s in analyse_capture(schedule_capture, list(DEFAULT_MARKERS)).spans}
    again = {s.name: s for s in analyse_capture(replayed, list(DEFAULT_MARKERS)).spans}
    names = sorted(set(original) - {"reset"})
    assert sorted(set(again) - {"reset"}) == names
    for name in names:
        assert again[name].duration == pytest.approx(original[name].duration, abs=TOLERANCE), name
