"""Command: `armcheck time`, boot stage timing from captures or live boots."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from armcheck.capture import is_capture, read_capture_header
from armcheck.errors import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
)
from armcheck.outputs import write_output_file
from armcheck.reports.timeline import glyphs_for, render_report
from armcheck.reports.timeline_html import write_html
from armcheck.targets import Target
from armcheck.timing.baseline import (
    DEFAULT_MAX_REGRESSION,
    DEFAULT_NOISE_FLOOR,
    compare,
    load_baseline,
    save_baseline,
)
from armcheck.timing.junit import write_timing_junit
from armcheck.timing.markers import (
    DEFAULT_MARKERS,
    Marker,
    extra_ready_marker,
    load_marker_file,
    prompt_markers,
    target_markers,
)
from armcheck.timing.stages import PassTiming, analyse_capture
from armcheck.timing.statistics import TimingReport, summarize

log = logging.getLogger(__name__)


@click.command("time")
@click.argument("sources", nargs=-1, metavar="[TARGET | CAPTURE...]")
@click.option(
    "--passes",
    type=click.IntRange(min=1),
    default=None,
    help="Live: number of measured boots (default 1).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Live: boots to run and discard before the measured ones.",
)
@click.option(
    "--timeout",
    "pass_timeout",
    type=click.FloatRange(min=1.0),
    default=None,
    help="Live: seconds one boot may take to reach userspace ready "
    "(default: the target's timing.timeout, else its timeouts.total, else 300).",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Live: folder for the pass captures (default runs/time-UTCSTAMP).",
)
@click.option(
    "--markers",
    "marker_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML file that adds or overrides stage markers.",
)
@click.option(
    "--prompt",
    default=None,
    metavar="REGEX",
    help="Extra userspace-ready pattern, matched against each console line.",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the timing report as JSON to this file.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a self-contained HTML page with an SVG timeline.",
)
@click.option(
    "--junit",
    "junit_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JUnit XML: one testcase per stage, its mean time.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Compare stage means with this earlier --json output.",
)
@click.option(
    "--max-regression",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_MAX_REGRESSION,
    show_default=True,
    metavar="PERCENT",
    help="With --baseline: growth of a stage mean, in percent, that fails the gate.",
)
@click.option(
    "--noise-floor",
    type=click.FloatRange(min=0.0),
    default=DEFAULT_NOISE_FLOOR,
    show_default=True,
    metavar="SECONDS",
    help="With --baseline: growth in seconds below which a stage never fails.",
)
@click.option(
    "--save-baseline",
    "save_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write this run's JSON as a baseline for later runs.",
)
def time_command(
    sources: tuple[str, ...],
    passes: int | None,
    warmup: int,
    pass_timeout: float | None,
    run_dir: Path | None,
    marker_file: Path | None,
    prompt: str | None,
    json_file: Path | None,
    html_file: Path | None,
    junit_file: Path | None,
    baseline_file: Path | None,
    max_regression: float,
    noise_floor: float,
    save_file: Path | None,
) -> None:
    """Time each boot stage from saved captures or from N live boots of TARGET.

    With capture files, each file is one pass. With a TARGET (a built-in name,
    a YAML target file, a serial device or URL; qemu-virt by default), the
    target is booted --passes times until userspace is ready, one capture per
    boot. Prints a timeline of each stage's mean and standard deviation, the
    longest spans, the countdown waits and the kernel clock cross-check.

    Exit status: 0 timed, 1 a stage regressed against --baseline, 2 bad usage,
    3 a pass could not complete (timed out, console lost, boot never finished).
    """
    markers = list(DEFAULT_MARKERS)
    captures = [source for source in sources if is_capture(source)]
    baseline = load_baseline(baseline_file) if baseline_file else None

    if sources and len(captures) == len(sources):
        if passes is not None or warmup or pass_timeout is not None or run_dir is not None:
            raise UsageError(
                "--passes, --warmup, --timeout and --run-dir apply to live targets; "
                "with capture files each file is one pass"
            )
        markers = _user_markers(markers, marker_file, prompt)
        timings = [analyse_capture(path, markers) for path in captures]
        # The target named in the captures' headers, when they all name the same one.
        targets = {read_capture_header(path).target for path in captures}
        report = summarize(timings, target=targets.pop() if len(targets) == 1 else None)
        error = None
    else:
        if len(sources) > 1:
            _reject_mixed(sources, captures)
        if sources:
            _reject_file_target(sources[0])
        report, timings, error = _run_live(
            sources[0] if sources else None,
            passes or 1,
            warmup,
            pass_timeout,
            run_dir,
            marker_file,
            prompt,
        )

    comparisons = (
        compare(report, baseline, max_regression, noise_floor) if baseline is not None else None
    )
    click.echo(render_report(report, comparisons, glyphs_for(sys.stdout.encoding)), nl=False)
    _write_outputs(report, comparisons, json_file, html_file, junit_file, save_file)

    status = _exit_status(report, timings, comparisons, error)
    if isinstance(error, KeyboardInterrupt):
        click.echo("armcheck: interrupted", err=True)
    elif error is not None:
        click.echo(f"armcheck: error: {error}", err=True)
    sys.exit(status)


def _reject_mixed(sources: tuple[str, ...], captures: list[str]) -> None:
    others = [source for source in sources if source not in captures]
    missing = [source for source in others if not Path(source).exists()]
    if missing:
        raise UsageError(f"capture not found: {missing[0]} (give capture files or one TARGET)")
    raise UsageError(
        f"{others[0]} is not an asciicast v2 capture; give either capture files or one TARGET"
    )


def _reject_file_target(source: str) -> None:
    """Reject a TARGET that names a missing capture or a file of no known kind."""
    path = Path(source)
    if source.endswith(".cast") and not path.exists():
        raise UsageError(f"capture not found: {source}")
    if path.is_file() and not source.endswith((".yaml", ".yml")):
        raise UsageError(
            f"{source} is not an asciicast v2 capture nor a YAML target file; "
            "give capture files recorded by armcheck, or one TARGET"
        )


def _user_markers(
    markers: list[Marker], marker_file: Path | None, prompt: str | None
) -> list[Marker]:
    if marker_file is not None:
        markers = load_marker_file(marker_file, markers)
    if prompt:
        markers = markers + [extra_ready_marker(prompt, "prompt-option")]
    return markers


def _run_live(
    spec: str | None,
    passes: int,
    warmup: int,
    pass_timeout: float | None,
    run_dir: Path | None,
    marker_file: Path | None,
    prompt: str | None,
) -> tuple[TimingReport, list[PassTiming], BaseException | None]:
    from armcheck.targets import resolve_target
    from armcheck.timing.live import (
        DEFAULT_PASS_TIMEOUT,
        PassPlan,
        default_run_dir,
        run_passes,
        send_steps,
    )

    target = resolve_target(spec)
    markers = target_markers(target.options, target.name, list(DEFAULT_MARKERS), target.markers)
    markers += prompt_markers(target.prompts)
    markers = _user_markers(markers, marker_file, prompt)
    default_timeout = _target_timeout(target, DEFAULT_PASS_TIMEOUT)
    plan = PassPlan(
        passes=passes,
        warmup=warmup,
        timeout=pass_timeout if pass_timeout is not None else default_timeout,
        run_dir=run_dir or default_run_dir(),
        markers=markers,
        sends=send_steps(target.options, target.name),
    )
    result = run_passes(target, plan)
    report = summarize(result.timings, warmup, str(plan.run_dir), target.name)
    error: BaseException | None = result.error
    if result.interrupted:
        error = KeyboardInterrupt()
    return report, result.timings, error


def _target_timeout(target: Target, default: float) -> float:
    """Return the per-pass timeout a target sets: `timing.timeout`, else its `total` timeout."""
    timing_options = target.options.get("timing")
    if isinstance(timing_options, dict) and "timeout" in timing_options:
        value = timing_options["timeout"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise UsageError(
                f"target {target.name}: invalid timing.timeout {value!r}: give seconds above 0"
            )
        return float(value)
    if "total" in target.timeouts:
        return float(target.timeouts["total"])
    return default


def _write_outputs(
    report: TimingReport,
    comparisons: list | None,
    json_file: Path | None,
    html_file: Path | None,
    junit_file: Path | None,
    save_file: Path | None,
) -> None:
    if json_file is not None:
        document = report.to_json()
        if comparisons is not None:
            document["baseline"] = [item.to_json() for item in comparisons]
        write_output_file(json_file, json.dumps(document, indent=2) + "\n", "JSON")
    if html_file is not None:
        write_html(report, html_file, comparisons)
    if junit_file is not None:
        write_timing_junit(report, junit_file, comparisons)
    if save_file is not None:
        save_baseline(report, save_file)
        click.echo(f"Baseline saved to {save_file}")


def _exit_status(
    report: TimingReport,
    timings: list[PassTiming],
    comparisons: list | None,
    error: BaseException | None,
) -> int:
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if error is not None or report.incomplete or not timings:
        return EXIT_INCOMPLETE
    if comparisons and any(item.regressed for item in comparisons):
        return EXIT_FAILED
    return EXIT_OK


COMMANDS = [time_command]
