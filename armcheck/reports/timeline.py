"""The terminal timeline of `armcheck time`: one vertical bar per span, read top to bottom.

Each span starts at a ▲ row annotated `name mean ± sd (share %)`, runs down
a │ column, and ends at a ▼ row, at its mean start and mean end. Top-level
stages share the first column; nested spans take the next free column. Then
come the longest spans, the waits, the kernel clock cross-check and the
baseline comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from armcheck.timing.baseline import StageComparison
from armcheck.timing.stages import STAGE, WAIT_SPAN
from armcheck.timing.statistics import StageStats, TimingReport

LONGEST_SHOWN = 5
LATE_LINES_SHOWN = 5


@dataclass(frozen=True)
class Glyphs:
    """The characters that draw a span: its start, its running column, its end."""

    start: str
    running: str
    end: str


UNICODE_GLYPHS = Glyphs("▲", "│", "▼")
ASCII_GLYPHS = Glyphs("^", "|", "v")


def glyphs_for(encoding: str | None) -> Glyphs:
    """Pick the Unicode glyphs when the output encoding can write them, else ASCII ones."""
    try:
        "".join([UNICODE_GLYPHS.start, UNICODE_GLYPHS.running, "±"]).encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_GLYPHS
    return UNICODE_GLYPHS


def render_report(
    report: TimingReport,
    comparisons: list[StageComparison] | None = None,
    glyphs: Glyphs = UNICODE_GLYPHS,
) -> str:
    """Render the whole terminal report as text."""
    plus_minus = "±" if glyphs is UNICODE_GLYPHS else "+-"
    sections = [
        _header(report, plus_minus),
        render_timeline(report, glyphs, plus_minus),
        _longest(report),
        _waits(report, plus_minus),
        _kernel_clock(report),
    ]
    if comparisons is not None:
        sections.append(_baseline(comparisons))
    if report.incomplete:
        sections.append(_incomplete(report))
    return "\n\n".join(section for section in sections if section) + "\n"


def _header(report: TimingReport, plus_minus: str) -> str:
    target = f" of {report.target}" if report.target else ""
    warmup = f" after {report.warmup} warm-up boot(s)" if report.warmup else ""
    total = report.total
    lines = [
        f"Boot timing{target}: {report.passes} pass(es){warmup}, total "
        f"{total.duration:.3f} {plus_minus} {total.stddev:.3f} s "
        f"(min {total.min:.3f} s, max {total.max:.3f} s)"
        + (f" [boot unfinished in {total.open} pass(es)]" if total.open else "")
    ]
    if report.run_dir:
        lines.append(f"Captures in {report.run_dir}")
    return "\n".join(lines)


def render_timeline(
    report: TimingReport, glyphs: Glyphs = UNICODE_GLYPHS, plus_minus: str = "±"
) -> str:
    """Draw the vertical timeline of all spans at their mean start and end."""
    lanes = _assign_lanes(report.stages)
    width = max(lanes.values(), default=0) + 1
    rows = []
    for index, stage in enumerate(report.stages):
        rows.append((stage.start, 1, lanes[stage.name], index, stage))
        rows.append((stage.start + stage.duration, 0, -lanes[stage.name], index, stage))
    rows.sort(key=lambda row: (round(row[0], 9), row[1], row[2], row[3]))

    running: dict[int, StageStats] = {}
    output = []
    for at, is_start, _, _, stage in rows:
        lane = lanes[stage.name]
        if not is_start:
            running.pop(lane, None)
        columns = []
        for column in range(width):
            if column == lane:
                columns.append(glyphs.start if is_start else glyphs.end)
            else:
                columns.append(glyphs.running if column in running else " ")
        text = _annotation(stage, report.passes, plus_minus) if is_start else ""
        output.append(f"{at:9.3f} s  {' '.join(columns)} {text}".rstrip())
        if is_start:
            running[lane] = stage
    return "\n".join(output)


def _assign_lanes(stages: list[StageStats]) -> dict[str, int]:
    """Give top-level stages lane 0 and each nested span the first lane free at its start."""
    lanes: dict[str, int] = {}
    busy_until: dict[int, float] = {}
    for stage in sorted(stages, key=lambda s: (s.start, s.kind != STAGE)):
        if stage.kind == STAGE:
            lanes[stage.name] = 0
            continue
        lane = 1
        while busy_until.get(lane, float("-inf")) > stage.start + 1e-9:
            lane += 1
        lanes[stage.name] = lane
        busy_until[lane] = stage.start + stage.duration
    return lanes


def _annotation(stage: StageStats, passes: int, plus_minus: str) -> str:
    text = (
        f"{stage.name} {stage.duration:.3f} {plus_minus} {stage.stddev:.3f} s ({stage.share:.1f} %)"
    )
    notes = []
    if stage.kind == WAIT_SPAN:
        announced = f", {stage.announced} s announced" if stage.announced is not None else ""
        notes.append(f"wait{announced}")
    elif stage.kind != STAGE:
        notes.append(stage.kind)
    if stage.passes < passes:
        notes.append(f"in {stage.passes} of {passes} passes")
    if stage.open:
        notes.append(f"capture ended first in {stage.open} pass(es)")
    return text + (f" [{'; '.join(notes)}]" if notes else "")


def _longest(report: TimingReport) -> str:
    leaves = [stage for stage in report.stages if not _has_children(stage, report.stages)]
    leaves.sort(key=lambda stage: stage.duration, reverse=True)
    if not leaves:
        return ""
    lines = ["Longest spans:"]
    for stage in leaves[:LONGEST_SHOWN]:
        where = f" in {stage.parent}" if stage.parent else ""
        lines.append(
            f"  {stage.duration:9.3f} s  {stage.share:5.1f} %  {stage.name}{where} ({stage.kind})"
        )
    return "\n".join(lines)


def _has_children(stage: StageStats, stages: list[StageStats]) -> bool:
    return any(other.parent == stage.name for other in stages)


def _waits(report: TimingReport, plus_minus: str) -> str:
    waits = report.waits
    if not waits:
        return "Waits: no countdown seen."
    lines = ["Waits (countdowns, the cheapest boot time to win back):"]
    cost = 0.0
    for wait in waits:
        announced = f", {wait.announced} s announced" if wait.announced is not None else ""
        where = f" in {wait.parent}" if wait.parent else ""
        lines.append(
            f"  {wait.duration:9.3f} {plus_minus} {wait.stddev:.3f} s  {wait.name}{where}"
            f"{announced}"
        )
        cost += wait.duration * wait.passes / max(report.passes, 1)
    share = 100.0 * cost / report.total.duration if report.total.duration > 0 else 0.0
    lines.append(f"  {cost:9.3f} s in waits per boot on average ({share:.1f} % of the total)")
    return "\n".join(lines)


def _kernel_clock(report: TimingReport) -> str:
    clock = report.kernel_clock
    if not clock or not clock.get("passes"):
        return "Kernel clock: no kernel lines with printk timestamps."
    lines = [
        f"Kernel clock: {clock['lines']} printk lines in {clock['passes']} pass(es); "
        f"kernel time zero at {clock['offset']:.3f} s on the host clock, drift "
        f"{clock['drift_ppm']:+.1f} ppm, edge fit within {clock['max_residual'] * 1000:.1f} ms"
    ]
    late = clock.get("late_lines", [])
    if clock.get("late_count"):
        lines.append(
            f"  {clock['late_count']} line(s) arrived more than "
            f"{clock['late_threshold'] * 1000:.0f} ms after the kernel printed them, the latest:"
        )
        for item in late[:LATE_LINES_SHOWN]:
            lines.append(
                f"    {item['source']}: line {item['line']} printed at "
                f"[{item['kernel_time']:.6f}] arrived {item['late'] * 1000:.0f} ms late"
            )
    else:
        lines.append("  no line arrived late")
    return "\n".join(lines)


def _baseline(comparisons: list[StageComparison]) -> str:
    regressions = [item for item in comparisons if item.regressed]
    if not regressions:
        return f"Baseline: no regression in {len(comparisons)} compared span(s)."
    lines = [f"Baseline: {len(regressions)} regression(s):"]
    lines.extend(f"  FAILED {item.message()}" for item in regressions)
    return "\n".join(lines)


def _incomplete(report: TimingReport) -> str:
    lines = ["Passes that did not reach userspace ready or shutdown:"]
    lines.extend(f"  {source}" for source in report.incomplete)
    return "\n".join(lines)
