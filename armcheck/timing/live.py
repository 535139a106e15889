"""Live passes: boot a target N times, one capture per pass, and time each boot.

Each pass opens the target's console (which powers it on: for qemu that starts
the process), records everything into `<run dir>/pass-NN.cast` (warm-up boots
into `warmup-NN.cast`), and waits until userspace is ready or the system shuts
down, within a per-pass timeout. The boot is left alone: armcheck sends keys
only when the target's `timing.send` option lists them, and types the
line that starts the OS when the target boots it from the UEFI shell.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from armcheck import interrupts
from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.deadline import Deadline
from armcheck.errors import ConsoleError, TargetError, UsageError
from armcheck.targets import Target, open_console
from armcheck.timing.markers import READY, SHUTDOWN, Marker
from armcheck.timing.stages import PassTiming, analyse_capture

log = logging.getLogger(__name__)

DEFAULT_PASS_TIMEOUT = 300.0


@dataclass(frozen=True)
class SendStep:
    """Wait for `expect` on the console, then send a named key or a line of text."""

    expect: str
    key: str | None = None
    text: str | None = None


@dataclass
class PassPlan:
    """Settings of a live timing run: boot counts, the per-boot timeout, the run folder, markers."""

    passes: int
    warmup: int
    timeout: float
    run_dir: Path
    markers: list[Marker]
    sends: list[SendStep] = field(default_factory=list)


@dataclass
class LiveResult:
    """The measured passes (warm-ups excluded) and the error that stopped the run, if any."""

    timings: list[PassTiming]
    captures: list[Path]
    error: ConsoleError | None = None
    interrupted: bool = False


def default_run_dir(root: str | Path = "runs") -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"time-{stamp}"


def stream_pattern(marker: Marker) -> str:
    """Turn a line pattern into one for the console stream.

    Transcript lines have trailing blanks removed, so a pattern ending in `$`
    also accepts blanks before the end of the stream or the line break.
    """
    pattern = marker.pattern
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"[ \t]*$"
    return "(?m)" + pattern


def send_steps(options: dict[str, Any], target_name: str) -> list[SendStep]:
    """Read a target's `timing.send` option: a list of {expect, key} or {expect, text}.

    NOTE: target files have no `timing` key, so only a Target built in Python
    can set this option.
    """
    timing = options.get("timing")
    entries = timing.get("send") if isinstance(timing, dict) else options.get("timing.send")
    if entries is None:
        return []
    where = f"target {target_name} option timing.send"
    if not isinstance(entries, list):
        raise TargetError(f"{where}: expected a list of entries with `expect` and `key` or `text`")
    steps = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("expect"), str):
            raise TargetError(f"{where}: entry {position} needs `expect` (a regular expression)")
        key, text = entry.get("key"), entry.get("text")
        if (key is None) == (text is None):
            raise TargetError(f"{where}: entry {position} needs exactly one of `key` or `text`")
        try:
            re.compile(entry["expect"])
        except re.error as err:
            message = f"{where}: entry {position}: invalid `expect` pattern: {err}"
            raise TargetError(message) from err
        steps.append(SendStep(entry["expect"], key, None if text is None else str(text)))
    return steps


def run_passes(target: Target, plan: PassPlan) -> LiveResult:
    """Boot the target warmup + passes times; stop at the first pass that fails."""
    if plan.passes < 1:
        raise UsageError(f"--passes must be at least 1, not {plan.passes}")
    finish = [stream_pattern(m) for m in plan.markers if m.role in (READY, SHUTDOWN)]
    if not finish:
        raise UsageError(
            "no `ready` or `shutdown` marker is defined, so a pass could never end; "
            "add one with --prompt or a marker file"
        )
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    log.info(
        "timing %s: %d warm-up and %d measured boot(s) into %s",
        target.name,
        plan.warmup,
        plan.passes,
        plan.run_dir,
    )

    result = LiveResult([], [])
    for index in range(plan.warmup + plan.passes):
        warm = index < plan.warmup
        number = index + 1 if warm else index - plan.warmup + 1
        path = plan.run_dir / f"{'warmup' if warm else 'pass'}-{number:02d}.cast"
        try:
            _boot_once(target, plan, path, finish)
        except KeyboardInterrupt:
            interrupts.handled()
            log.warning("interrupted during %s; reporting the passes measured so far", path.name)
            result.interrupted = True
            return result
        except ConsoleError as err:
            log.error("pass %s failed: %s", path.name, err)
            result.error = type(err)(f"{path}: {err}")
            if not warm and path.exists():
                # The failed boot is still reported, as far as it got.
                result.captures.append(path)
                result.timings.append(analyse_capture(path, plan.markers))
            return result
        if not warm:
            result.captures.append(path)
            result.timings.append(analyse_capture(path, plan.markers))
    return result


def _boot_once(target: Target, plan: PassPlan, path: Path, finish: list[str]) -> None:
    started = time.monotonic()
    deadline = Deadline(plan.timeout)
    with CaptureWriter(path, target=target.name, extra={"timing_pass": path.stem}) as capture:
        console = open_console(target, capture)
        try:
            for step in plan.sends:
                console.expect(step.expect, timeout=deadline.remaining(), what=step.expect)
                if step.key is not None:
                    console.send_key(step.key)
                else:
                    console.sendline(step.text or "")
            command = uefi_shell_command(target, console)
            if command is not None:
                _start_from_uefi_shell(target, console, command, deadline)
            match = console.expect(
                finish, timeout=deadline.remaining(), what="userspace ready or shutdown"
            )
            log.info("%s: boot finished at %.3f s (%r)", path.name, match.time, match.text.strip())
        finally:
            console.close()
    log.info("%s: pass took %.1f s", path.name, time.monotonic() - started)


def uefi_shell_command(target: Target, console: Console) -> str | None:
    """Return the UEFI shell line that starts the OS, when the target boots it that way.

    A target file's `boot.uefi_shell_command` names it. For qemu with the Linux
    guest on a FAT drive, the transport provides it. A target whose firmware has
    no UEFI shell (`boot.uefi_shell: false`, U-Boot) boots on its own.
    """
    from armcheck.shells import os_start_line

    if target.boot.get("uefi_shell") is False:
        return None
    return os_start_line(target.boot, console)


def _start_from_uefi_shell(
    target: Target, console: Console, command: str, deadline: Deadline
) -> None:
    """Wait for the UEFI shell prompt, mark `uefi-shell`, and type the line that starts the OS.

    The startup.nsh countdown before the prompt is left to run out, so the
    report shows what it costs.
    """
    from armcheck.shells import UEFI_PROMPT

    prompt = target.prompts.get("uefi_shell") or UEFI_PROMPT
    console.expect(prompt, timeout=deadline.remaining(), what="the UEFI shell prompt")
    console.mark("uefi-shell")
    console.sendline(command)
