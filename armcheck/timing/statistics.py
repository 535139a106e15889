"""Statistics over passes: per stage mean, population standard deviation, min, max, share.

The JSON written by `armcheck time --json` (and read back as a baseline) is
`TimingReport.to_json()`. Its top-level stage names and keys are a stable
interface, documented in docs/timing.md.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from armcheck.timing.kernel_clock import ClockFit, fit_kernel_clock, summarize_clock
from armcheck.timing.stages import STAGE, STAGE_NAMES, WAIT_SPAN, PassTiming, Span

FORMAT_VERSION = 1
TOTAL = "total"


@dataclass
class StageStats:
    """One stage or nested span over all passes where it was seen, in seconds.

    `share` is the mean duration as a percentage of the mean total boot time.
    `passes` counts the passes that had the span, and `open` counts those
    where the capture ended before the span did.
    """

    name: str
    kind: str
    parent: str | None
    passes: int
    start: float
    duration: float
    stddev: float
    min: float
    max: float
    share: float = 0.0
    open: int = 0
    announced: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent,
            "passes": self.passes,
            "start": round(self.start, 6),
            "duration": round(self.duration, 6),
            "stddev": round(self.stddev, 6),
            "min": round(self.min, 6),
            "max": round(self.max, 6),
            "share": round(self.share, 2),
            "open": self.open,
        }
        if self.kind == WAIT_SPAN:
            data["announced"] = self.announced
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageStats:
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", STAGE)),
            parent=data.get("parent"),
            passes=int(data.get("passes", 1)),
            start=float(data.get("start", 0.0)),
            duration=float(data["duration"]),
            stddev=float(data.get("stddev", 0.0)),
            min=float(data.get("min", data["duration"])),
            max=float(data.get("max", data["duration"])),
            share=float(data.get("share", 0.0)),
            open=int(data.get("open", 0)),
            announced=data.get("announced"),
        )


@dataclass
class TimingReport:
    """The timing of N passes: stage statistics, waits, the kernel clock and the sources."""

    passes: int
    sources: list[str]
    stages: list[StageStats]
    total: StageStats
    kernel_clock: dict[str, Any] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    warmup: int = 0
    run_dir: str | None = None
    target: str | None = None

    @property
    def waits(self) -> list[StageStats]:
        return [stage for stage in self.stages if stage.kind == WAIT_SPAN]

    def stage(self, name: str) -> StageStats | None:
        if name == TOTAL:
            return self.total
        return next((stage for stage in self.stages if stage.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "passes": self.passes,
            "warmup": self.warmup,
            "target": self.target,
            "run_dir": self.run_dir,
            "sources": self.sources,
            "incomplete": self.incomplete,
            "total": self.total.to_json(),
            "stages": [stage.to_json() for stage in self.stages],
            "waits": [wait.to_json() for wait in self.waits],
            "kernel_clock": self.kernel_clock,
        }


def summarize(
    timings: list[PassTiming],
    warmup: int = 0,
    run_dir: str | None = None,
    target: str | None = None,
) -> TimingReport:
    """Combine the passes into one report; a span counts in the passes that had it."""
    if not timings:
        empty = StageStats(TOTAL, STAGE, None, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return TimingReport(0, [], [], empty, summarize_clock([]), [], warmup, run_dir, target)
    # A pass whose boot did not finish has an open total, as its open stage has.
    total_spans = [
        Span(TOTAL, STAGE, 0.0, timing.total, open=any(span.open for span in timing.spans))
        for timing in timings
    ]
    total = _stats(TOTAL, STAGE, None, total_spans, 0.0)
    total.share = 100.0

    grouped: dict[str, list[Span]] = {}
    for timing in timings:
        for span in timing.spans:
            grouped.setdefault(span.name, []).append(span)
    stages = [
        _stats(name, spans[0].kind, spans[0].parent, spans, total.duration)
        for name, spans in grouped.items()
    ]
    stages.sort(key=_display_order)

    fits: list[ClockFit] = []
    for timing in timings:
        fit = fit_kernel_clock(timing.printk, timing.source)
        if fit is not None:
            fits.append(fit)

    return TimingReport(
        passes=len(timings),
        sources=[timing.source for timing in timings],
        stages=stages,
        total=total,
        kernel_clock=summarize_clock(fits),
        incomplete=[timing.source for timing in timings if not timing.complete],
        warmup=warmup,
        run_dir=run_dir,
        target=target,
    )


def _stats(name: str, kind: str, parent: str | None, spans: list[Span], total: float) -> StageStats:
    durations = [span.duration for span in spans]
    mean = statistics.fmean(durations)
    announced = [span.announced for span in spans if span.announced is not None]
    return StageStats(
        name=name,
        kind=kind,
        parent=parent,
        passes=len(spans),
        start=statistics.fmean(span.start for span in spans),
        duration=mean,
        stddev=statistics.pstdev(durations) if len(durations) > 1 else 0.0,
        min=min(durations),
        max=max(durations),
        share=100.0 * mean / total if total > 0 else 0.0,
        open=sum(1 for span in spans if span.open),
        announced=max(announced) if announced else None,
    )


def _display_order(stage: StageStats) -> tuple[float, int, int]:
    """Order by mean start; at equal starts a top-level stage comes before what it holds."""
    rank = 0 if stage.kind == STAGE else 1
    top = STAGE_NAMES.index(stage.name) if stage.name in STAGE_NAMES else len(STAGE_NAMES)
    return (round(stage.start, 9), rank, top)
