"""The kernel clock cross-check: printk timestamps against host arrival times.

Linux prefixes each console line with its own clock (`[    1.234567]`, seconds
since the kernel's sched_clock started). armcheck stamps the same line with
the host's monotonic clock when its first byte arrives. Fitting

    host_time = offset + slope * kernel_time

by least squares gives the offset (the host time at which the kernel clock
read zero) and the drift (slope - 1, in parts per million). A line can only
arrive after the kernel printed it, so lines far above the fit arrived late.
The kernel may have buffered them before its console driver started, the
UART may have been slower than the output, or a USB-serial adapter may have
held them for its latency timer. Late lines are left out of the fit and
listed.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from typing import Any

from armcheck.timing.stages import PrintkLine

log = logging.getLogger(__name__)

LATE_THRESHOLD = 0.1
FIT_ROUNDS = 10
MIN_LINES = 3
EDGE_SLICES = 20
# Slice points further than the band above the line are left out of the next fit
# round. The band starts at FIT_BAND and then narrows to three times the median
# distance of the fitted points from the line, but not below MIN_FIT_BAND.
FIT_BAND = 0.020
MIN_FIT_BAND = 0.002


@dataclass
class LateLine:
    """A kernel line that arrived `late` seconds after the time the fit gives for its printing."""

    source: str
    line: int
    kernel_time: float
    host_time: float
    late: float

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "kernel_time": round(self.kernel_time, 6),
            "host_time": round(self.host_time, 6),
            "late": round(self.late, 6),
        }


@dataclass
class ClockFit:
    """The kernel clock against the host clock for one pass.

    `fitted` counts the lower-edge points the final fit used, and
    `max_residual` is the largest distance of one of them from the line.
    """

    source: str
    lines: int
    fitted: int
    offset: float
    slope: float
    late: list[LateLine] = field(default_factory=list)
    max_residual: float = 0.0
    threshold: float = LATE_THRESHOLD

    @property
    def drift_ppm(self) -> float:
        return (self.slope - 1.0) * 1e6


def fit_kernel_clock(
    printk: list[PrintkLine], source: str = "", late_threshold: float = LATE_THRESHOLD
) -> ClockFit | None:
    """Fit the host clock against the kernel clock; None with fewer than MIN_LINES lines.

    A line cannot arrive before it was printed, so the lines that arrived on
    time form the lower edge of the points, and queued lines sit above it.
    The fit therefore uses one point per slice of kernel time, the one with
    the smallest delay. The first guess is slope 1 through the smallest delay
    of all. Then the slice points within a band above the line are fitted by
    least squares, up to FIT_ROUNDS times. This keeps a burst of
    lines that the kernel buffered before its console driver started from
    pulling the fit towards it. Lines more than `late_threshold` seconds
    above the final line are reported as late.
    """
    if len(printk) < MIN_LINES:
        return None
    edge = _lower_edge(printk)
    offset = min(p.host_time - p.kernel_time for p in printk)
    slope = 1.0
    kept: list[PrintkLine] = []
    band = FIT_BAND
    for _ in range(FIT_ROUNDS):
        on_time = [p for p in edge if _residual(p, offset, slope) <= band]
        if len(on_time) < 2 or on_time == kept:
            break
        kept = on_time
        offset, slope = _least_squares(kept)
        spread = statistics.median(abs(_residual(p, offset, slope)) for p in kept)
        band = min(FIT_BAND, max(MIN_FIT_BAND, 3.0 * spread))

    late = [
        LateLine(source, p.line, p.kernel_time, p.host_time, _residual(p, offset, slope))
        for p in printk
        if _residual(p, offset, slope) > late_threshold
    ]
    residuals = [abs(_residual(p, offset, slope)) for p in kept] or [0.0]
    return ClockFit(
        source, len(printk), len(kept), offset, slope, late, max(residuals), late_threshold
    )


def _lower_edge(printk: list[PrintkLine]) -> list[PrintkLine]:
    """Return, for each of up to EDGE_SLICES slices of kernel time, its least delayed line."""
    first = min(p.kernel_time for p in printk)
    span = max(p.kernel_time for p in printk) - first
    if span <= 0:
        return [min(printk, key=lambda p: p.host_time - p.kernel_time)]
    slices = max(2, min(EDGE_SLICES, len(printk) // 3))
    best: dict[int, PrintkLine] = {}
    for point in printk:
        index = min(slices - 1, int((point.kernel_time - first) / span * slices))
        current = best.get(index)
        delay = point.host_time - point.kernel_time
        if current is None or delay < current.host_time - current.kernel_time:
            best[index] = point
    return [best[index] for index in sorted(best)]


def _residual(point: PrintkLine, offset: float, slope: float) -> float:
    return point.host_time - (offset + slope * point.kernel_time)


def _least_squares(points: list[PrintkLine]) -> tuple[float, float]:
    """Return (intercept, slope) of host over kernel time; slope 1 when kernel times are equal."""
    count = len(points)
    mean_k = sum(p.kernel_time for p in points) / count
    mean_h = sum(p.host_time for p in points) / count
    spread = sum((p.kernel_time - mean_k) ** 2 for p in points)
    if spread <= 0.0:
        return mean_h - mean_k, 1.0
    covariance = sum((p.kernel_time - mean_k) * (p.host_time - mean_h) for p in points)
    slope = covariance / spread
    return mean_h - slope * mean_k, slope


def summarize_clock(fits: list[ClockFit], max_late_lines: int = 20) -> dict[str, Any]:
    """Summarize the per-pass fits for the report: mean offset and drift, late lines."""
    if not fits:
        return {"passes": 0, "note": "no kernel lines with printk timestamps"}
    late = [line for fit in fits for line in fit.late]
    late.sort(key=lambda line: line.late, reverse=True)
    offsets = [fit.offset for fit in fits]
    drifts = [fit.drift_ppm for fit in fits]
    return {
        "passes": len(fits),
        "lines": sum(fit.lines for fit in fits),
        "offset": round(sum(offsets) / len(offsets), 6),
        "offset_min": round(min(offsets), 6),
        "offset_max": round(max(offsets), 6),
        "drift_ppm": round(sum(drifts) / len(drifts), 1),
        "max_residual": round(max(fit.max_residual for fit in fits), 6),
        "late_threshold": fits[0].threshold,
        "late_count": len(late),
        "late_lines": [line.to_json() for line in late[:max_late_lines]],
        "per_pass": [
            {
                "source": fit.source,
                "lines": fit.lines,
                "offset": round(fit.offset, 6),
                "drift_ppm": round(fit.drift_ppm, 1),
                "max_residual": round(fit.max_residual, 6),
                "late_count": len(fit.late),
            }
            for fit in fits
        ],
    }
