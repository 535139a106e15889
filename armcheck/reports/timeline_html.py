"""The boot timeline as a self-contained HTML page with an inline SVG chart.

One row per stage or nested span: a bar from its mean start for its mean
duration, and a whisker from the shortest to the longest duration measured
(drawn from the mean start). A table with the numbers follows. The page has
no script, no external style sheet, font or image, so it opens offline.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from armcheck.outputs import write_output_file
from armcheck.timing.baseline import StageComparison
from armcheck.timing.stages import PHASE, STAGE, WAIT_SPAN
from armcheck.timing.statistics import StageStats, TimingReport

LABEL_WIDTH = 230
CHART_WIDTH = 760
ROW_HEIGHT = 24
TOP = 34
BOTTOM = 16
COLORS = {
    "reset": "#9e9e9e",
    "firmware": "#3f6fb5",
    "loader": "#7b57a8",
    "kernel": "#2e8b57",
    "userspace": "#c28a1e",
}
KIND_COLORS = {"milestone": "#7fa6dc", PHASE: "#5fb7b0", WAIT_SPAN: "#e0603a"}

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; }
p.summary { margin: 4px 0 16px; }
p.legend { color: #555; font-size: 13px; }
svg text { font-family: sans-serif; font-size: 12px; fill: #222; }
svg .axis { stroke: #888; stroke-width: 1; }
svg .grid { stroke: #e4e4e4; stroke-width: 1; }
svg .whisker { stroke: #222; stroke-width: 1.2; }
svg .regressed { stroke: #c00; stroke-width: 2; }
table { border-collapse: collapse; margin-top: 20px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
tr.regressed td { background: #fde0e0; }
"""


def render_html(report: TimingReport, comparisons: list[StageComparison] | None = None) -> str:
    """Return the whole page as a string."""
    regressed = {item.name for item in comparisons or [] if item.regressed}
    target = f" of {escape(report.target)}" if report.target else ""
    total = report.total
    summary = (
        f"{report.passes} pass(es), total {total.duration:.3f} s ± {total.stddev:.3f} s "
        f"(min {total.min:.3f} s, max {total.max:.3f} s)"
    )
    if regressed:
        summary += f"; {len(regressed)} regression(s) against the baseline"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        f"<title>Boot timing{target}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>Boot timing{target}</h1>",
        f'<p class="summary">{summary}</p>',
        '<p class="legend">Each bar starts at the mean start of its span and lasts its mean '
        "duration; the whisker runs from the shortest to the longest duration measured. "
        "Hover over a row for its numbers.</p>",
        render_svg(report, regressed),
        _table(report, regressed),
        _waits(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def render_svg(report: TimingReport, regressed: set[str] | None = None) -> str:
    """Draw the timeline chart as an SVG element."""
    regressed = regressed or set()
    stages = report.stages
    end = max([s.start + s.max for s in stages] + [report.total.max, 1e-3])
    scale = CHART_WIDTH / end
    height = TOP + ROW_HEIGHT * len(stages) + BOTTOM
    width = LABEL_WIDTH + CHART_WIDTH + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="boot stage timeline">'
    ]
    out.extend(_axis(end, scale, height))
    for row, stage in enumerate(stages):
        out.extend(_row(stage, row, scale, stage.name in regressed))
    out.append("</svg>")
    return "\n".join(out)


def _axis(end: float, scale: float, height: float) -> list[str]:
    step = _tick_step(end)
    out = []
    count = int(math.floor(end / step + 1e-9))
    for index in range(count + 1):
        value = index * step
        x = LABEL_WIDTH + value * scale
        out.append(
            f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - BOTTOM}"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{TOP - 12}" text-anchor="middle">'
            f"{_seconds_label(value, step)}</text>"
        )
    out.append(
        f'<line class="axis" x1="{LABEL_WIDTH}" y1="{TOP - 6}" '
        f'x2="{LABEL_WIDTH + CHART_WIDTH}" y2="{TOP - 6}"/>'
    )
    return out


def _tick_step(end: float) -> float:
    """Choose a 1-2-5 step giving between 5 and 10 ticks over the chart."""
    raw = end / 8
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _seconds_label(value: float, step: float) -> str:
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"{value:.{decimals}f} s"


def _row(stage: StageStats, row: int, scale: float, regressed: bool) -> list[str]:
    y = TOP + row * ROW_HEIGHT
    middle = y + ROW_HEIGHT / 2
    indent = 0 if stage.kind == STAGE else 14
    color = COLORS.get(stage.name) if stage.kind == STAGE else KIND_COLORS.get(stage.kind)
    x = LABEL_WIDTH + stage.start * scale
    bar = max(stage.duration * scale, 1.0)
    tooltip = escape(
        f"{stage.name}: mean {stage.duration:.3f} s ± {stage.stddev:.3f} s, "
        f"min {stage.min:.3f} s, max {stage.max:.3f} s, starts at {stage.start:.3f} s, "
        f"{stage.share:.1f} % of the total, {stage.passes} pass(es)"
    )
    label = escape(stage.name)
    weight = ' font-weight="bold"' if stage.kind == STAGE else ""
    outline = ' class="regressed"' if regressed else ""
    low = LABEL_WIDTH + (stage.start + stage.min) * scale
    high = LABEL_WIDTH + (stage.start + stage.max) * scale
    return [
        f"<g><title>{tooltip}</title>",
        f'<text x="{8 + indent}" y="{middle + 4:.1f}"{weight}>{label}</text>',
        f'<rect x="{x:.1f}" y="{y + 4}" width="{bar:.1f}" height="{ROW_HEIGHT - 8}" '
        f'fill="{color or "#888"}"{outline}/>',
        f'<line class="whisker" x1="{low:.1f}" y1="{middle:.1f}" x2="{high:.1f}" '
        f'y2="{middle:.1f}"/>',
        f'<line class="whisker" x1="{low:.1f}" y1="{middle - 5:.1f}" x2="{low:.1f}" '
        f'y2="{middle + 5:.1f}"/>',
        f'<line class="whisker" x1="{high:.1f}" y1="{middle - 5:.1f}" x2="{high:.1f}" '
        f'y2="{middle + 5:.1f}"/>',
        "</g>",
    ]


def _table(report: TimingReport, regressed: set[str]) -> str:
    head = (
        "<tr><th>stage</th><th>kind</th><th>parent</th><th>start (s)</th><th>mean (s)</th>"
        "<th>stddev (s)</th><th>min (s)</th><th>max (s)</th><th>share (%)</th>"
        "<th>passes</th></tr>"
    )
    rows = [head]
    for stage in [*report.stages, report.total]:
        css = ' class="regressed"' if stage.name in regressed else ""
        rows.append(
            f'<tr{css}><td>{escape(stage.name)}</td><td class="text">{stage.kind}</td>'
            f'<td class="text">{escape(stage.parent or "")}</td>'
            f"<td>{stage.start:.3f}</td><td>{stage.duration:.3f}</td><td>{stage.stddev:.3f}</td>"
            f"<td>{stage.min:.3f}</td><td>{stage.max:.3f}</td><td>{stage.share:.1f}</td>"
            f"<td>{stage.passes}</td></tr>"
        )
    return "<table>\n" + "\n".join(rows) + "\n</table>"


def _waits(report: TimingReport) -> str:
    if not report.waits:
        return "<p>No countdown was seen.</p>"
    items = []
    for wait in report.waits:
        announced = f", {wait.announced} s announced" if wait.announced is not None else ""
        items.append(
            f"<li>{escape(wait.name)}: {wait.duration:.3f} s ± {wait.stddev:.3f} s{announced}</li>"
        )
    return "<h2>Waits (countdowns)</h2>\n<ul>\n" + "\n".join(items) + "\n</ul>"


def write_html(
    report: TimingReport, path: str | Path, comparisons: list[StageComparison] | None = None
) -> None:
    write_output_file(path, render_html(report, comparisons), "HTML")
