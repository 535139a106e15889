"""Boot stage timing: markers, stage spans per pass, statistics, baseline gate.

`armcheck time` reads captures (or boots a target N times, one capture per
pass), finds the boot events in each (armcheck.timing.stages), combines the
passes (armcheck.timing.statistics), cross-checks the kernel's printk clock
(armcheck.timing.kernel_clock) and compares with a baseline
(armcheck.timing.baseline).
"""

from __future__ import annotations

from armcheck.timing.baseline import compare, load_baseline, save_baseline
from armcheck.timing.markers import DEFAULT_MARKERS, Marker, load_marker_file
from armcheck.timing.stages import STAGE_NAMES, PassTiming, Span, analyse_capture
from armcheck.timing.statistics import StageStats, TimingReport, summarize

__all__ = [
    "DEFAULT_MARKERS",
    "STAGE_NAMES",
    "Marker",
    "PassTiming",
    "Span",
    "StageStats",
    "TimingReport",
    "analyse_capture",
    "compare",
    "load_baseline",
    "load_marker_file",
    "save_baseline",
    "summarize",
]
