"""Measure how closely `armcheck capture` + `armcheck time` find a known boot schedule.

A separate process (armcheck.timing.schedule) writes a known boot on a
pseudo-terminal. `armcheck capture` records it until the login prompt, and
the stage spans are computed as `armcheck time` computes them. For each span
the script prints, over --runs recordings:

- the error against the schedule (what the accuracy test checks, 5 ms);
- the error against the writer's own write times, the reference measured in
  the same run: it leaves out the writer's lateness, so it is armcheck's own
  error;
- the difference after replaying the capture through `armcheck replay --pty`
  and recording it again.

Errors are in milliseconds, max is of the absolute values.

Run: .venv/bin/python benchmarks/timing_accuracy.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from armcheck.timing.accuracy import record_replay, record_schedule
from armcheck.timing.markers import DEFAULT_MARKERS
from armcheck.timing.schedule import BOOT_SCHEDULE, EXPECTED_SPANS
from armcheck.timing.stages import Span, analyse_capture

TOLERANCE_MS = 5.0


def spans_of(path: Path) -> dict[str, Span]:
    return {span.name: span for span in analyse_capture(path, list(DEFAULT_MARKERS)).spans}


def written_durations(written: list[float]) -> dict[str, float]:
    """Return each expected span's duration from the writer's real write offsets."""
    offsets = {round(offset, 6): actual for (offset, _), actual in zip(BOOT_SCHEDULE, written)}
    return {
        name: offsets[round(start + duration, 6)] - offsets[round(start, 6)]
        for name, (start, duration) in EXPECTED_SPANS.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="recordings of the schedule")
    args = parser.parse_args()

    errors: dict[str, list[float]] = {name: [] for name in EXPECTED_SPANS}
    own: dict[str, list[float]] = {name: [] for name in EXPECTED_SPANS}
    replay: dict[str, list[float]] = {name: [] for name in EXPECTED_SPANS}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            original, written = record_schedule(Path(folder) / f"schedule-{run}.cast")
            again = record_replay(original, Path(folder) / f"replay-{run}.cast")
            measured, replayed = spans_of(original), spans_of(again)
            actual = written_durations(written)
            for name, (_, duration) in EXPECTED_SPANS.items():
                errors[name].append(1000 * (measured[name].duration - duration))
                own[name].append(1000 * (measured[name].duration - actual[name]))
                replay[name].append(1000 * (replayed[name].duration - measured[name].duration))

    print(f"timing accuracy over {args.runs} recording(s) of the schedule, errors in ms")
    print(f"{'span':22} {'schedule s':>10} {'vs schedule':>18} {'vs writes':>18} {'replay':>18}")
    worst = 0.0
    for name, (_, duration) in EXPECTED_SPANS.items():
        columns = [_column(values) for values in (errors[name], own[name], replay[name])]
        worst = max(worst, *(abs(v) for v in errors[name] + replay[name]))
        print(f"{name:22} {duration:10.3f} {columns[0]:>18} {columns[1]:>18} {columns[2]:>18}")
    verdict = "within" if worst <= TOLERANCE_MS else "OVER"
    print(f"max error {worst:.3f} ms: {verdict} the {TOLERANCE_MS:.0f} ms limit")
    return 0 if worst <= TOLERANCE_MS else 1


def _column(values: list[float]) -> str:
    mean = statistics.fmean(values)
    largest = max(abs(value) for value in values)
    return f"{mean:+.3f} (max {largest:.3f})"


if __name__ == "__main__":
    raise SystemExit(main())
