"""The baseline gate: compare stage means with an earlier `armcheck time --json`.

A stage regresses when its mean grew by more than `max_regression` percent of
the baseline mean and by more than its noise. The noise is twice the standard
deviation of the difference of the two means, sqrt(sd_base^2 + sd_now^2), and
never less than `noise_floor` seconds, so that single-pass captures (standard
deviation 0) do not fail on a few milliseconds of console jitter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armcheck.errors import UsageError
from armcheck.outputs import write_output_file
from armcheck.timing.statistics import TOTAL, StageStats, TimingReport

DEFAULT_MAX_REGRESSION = 10.0
DEFAULT_NOISE_FLOOR = 0.010


@dataclass
class StageComparison:
    """One stage's mean now against the baseline, and whether it regressed."""

    name: str
    parent: str | None
    baseline: float | None
    current: float | None
    noise: float
    regressed: bool

    @property
    def growth(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def percent(self) -> float | None:
        growth = self.growth
        if growth is None or self.baseline is None or self.baseline <= 0:
            return None
        return 100.0 * growth / self.baseline

    def message(self) -> str:
        if self.current is None:
            return f"{self.name}: in the baseline ({self.baseline:.3f} s) but not seen now"
        if self.baseline is None:
            return f"{self.name}: new stage, not in the baseline"
        percent = self.percent
        share = f" ({percent:+.1f} %)" if percent is not None else ""
        return (
            f"{self.name}: mean {self.current:.3f} s against baseline {self.baseline:.3f} s, "
            f"{self.growth:+.3f} s{share}, noise {self.noise:.3f} s"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "baseline": None if self.baseline is None else round(self.baseline, 6),
            "current": None if self.current is None else round(self.current, 6),
            "growth": None if self.growth is None else round(self.growth, 6),
            "percent": None if self.percent is None else round(self.percent, 2),
            "noise": round(self.noise, 6),
            "regressed": self.regressed,
        }


def load_baseline(path: str | Path) -> TimingReport:
    """Read a baseline JSON; raise UsageError naming the file and what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise UsageError(f"cannot read baseline {path}: {err.strerror}") from err
    except ValueError as err:
        raise UsageError(f"{path}: invalid baseline, not JSON ({err})") from err
    if not isinstance(data, dict) or not isinstance(data.get("stages"), list):
        raise UsageError(
            f"{path}: invalid baseline, no `stages` list; write one with "
            "`armcheck time ... --save-baseline FILE`"
        )
    try:
        stages = [StageStats.from_json(item) for item in data["stages"]]
        total = StageStats.from_json(data["total"]) if "total" in data else None
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{path}: invalid baseline stage entry ({err!r})") from err
    if total is None:
        total = StageStats(TOTAL, "stage", None, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return TimingReport(
        passes=int(data.get("passes", 0)),
        sources=list(data.get("sources", [])),
        stages=stages,
        total=total,
        target=data.get("target"),
    )


def compare(
    report: TimingReport,
    baseline: TimingReport,
    max_regression: float = DEFAULT_MAX_REGRESSION,
    noise_floor: float = DEFAULT_NOISE_FLOOR,
) -> list[StageComparison]:
    """Compare every stage (and the total) of `report` with the same stage in `baseline`."""
    comparisons = []
    current_names = {stage.name for stage in report.stages}
    for stage in [report.total, *report.stages]:
        base = baseline.stage(stage.name)
        if base is None or (stage.name == TOTAL and base.passes == 0):
            comparisons.append(
                StageComparison(stage.name, stage.parent, None, stage.duration, 0.0, False)
            )
            continue
        comparisons.append(_compare_stage(stage, base, max_regression, noise_floor))
    for base in baseline.stages:
        if base.name not in current_names:
            comparisons.append(
                StageComparison(base.name, base.parent, base.duration, None, 0.0, False)
            )
    return comparisons


def _compare_stage(
    stage: StageStats, base: StageStats, max_regression: float, noise_floor: float
) -> StageComparison:
    noise = max(noise_floor, 2.0 * math.sqrt(stage.stddev**2 + base.stddev**2))
    growth = stage.duration - base.duration
    allowed = base.duration * max_regression / 100.0
    regressed = growth > allowed and growth > noise
    return StageComparison(
        stage.name, stage.parent, base.duration, stage.duration, noise, regressed
    )


def save_baseline(report: TimingReport, path: str | Path) -> None:
    """Write the report JSON as a baseline for later runs."""
    write_output_file(path, json.dumps(report.to_json(), indent=2) + "\n", "baseline")
