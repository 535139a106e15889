"""`armcheck run`: from power-on to verdict.

The run takes the target through fixed stages (armcheck.driver), failing
fast at the first error:

    power-on -> firmware -> uefi-shell (collect) -> linux -> linux-shell (collect) -> power-off

The run only drives the console. Facts come afterwards from the capture,
through the same reader as `armcheck check`, and the capture records (as
markers, see armcheck.session) how far the run got, so a saved capture
checked later gives the verdicts of the live run. Once the capture is open,
whatever happens (a lost console, a timeout, a panic, Ctrl-C, a bug in
armcheck itself), the capture is flushed and the reports are written before
the run returns.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from armcheck import interrupts, session
from armcheck.capture import CaptureWriter
from armcheck.console.base import Console
from armcheck.driver import BootDriver
from armcheck.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    ArmcheckError,
    UsageError,
)
from armcheck.facts import Facts
from armcheck.progress import Progress
from armcheck.results import CheckResult
from armcheck.targets import QEMU, Target, open_console, resolve_target

log = logging.getLogger(__name__)


@dataclass
class RunRequest:
    """The options of one `armcheck run`."""

    target: str | None = None
    baud: int = 115200
    profile: str | None = None
    capture: Path | None = None
    junit: Path | None = None
    json: Path | None = None
    kernel: str | None = None
    initrd: str | None = None
    append: str | None = None
    disk: str | None = None
    timeout: float | None = None
    run_dir: Path | None = None
    linux: bool = True
    progress: bool = True
    strict: bool = False


@dataclass
class RunOutcome:
    """The result of a run: exit status, report paths, verdicts and the stages reached."""

    status: int
    run_dir: Path
    capture: Path
    junit: Path
    json: Path
    results: list[CheckResult] = field(default_factory=list)
    facts: Facts | None = None
    error: str | None = None
    reached: list[str] = field(default_factory=list)
    seconds: float = 0.0
    profile: str = ""


def prepare_target(request: RunRequest) -> Target:
    """Resolve the target and apply the command line's kernel, initrd, append and disk."""
    target = resolve_target(request.target, baud=request.baud)
    overrides = {
        "kernel": request.kernel,
        "initrd": request.initrd,
        "append": request.append,
        "disk": request.disk,
    }
    overridden = {key: value for key, value in overrides.items() if value is not None}
    if overridden and target.kind != QEMU:
        raise UsageError(
            f"--{'/--'.join(overridden)} apply to qemu targets only; target {target.name} is a "
            f"{target.kind} console, which boots what the board has"
        )
    for key, value in overridden.items():
        if key in ("kernel", "initrd", "disk") and not Path(value).is_file():
            raise UsageError(f"--{key} {value}: no such file")
        target.qemu[key] = value
    if "kernel" in overridden:
        target.qemu["guest"] = False
    if target.kind == QEMU:
        from armcheck.collect import UEFI_SCRIPT, uefi_script_text

        # Goes on the FAT drive with the kernel, when there is one (console/qemu.py).
        target.qemu["uefi_scripts"] = {UEFI_SCRIPT: uefi_script_text()}
    return target


def default_run_dir(target: Target) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target.name).strip("_") or "target"
    return Path("runs") / f"{stamp}-{safe}"


def drive(driver: BootDriver, capture: CaptureWriter, linux: bool) -> None:
    """Take the target through every stage it has; mark the ones left out on purpose."""
    driver.firmware()
    driver.linux_planned = linux and driver.has_linux()
    shell = None
    if driver.has_uefi_shell:
        shell = driver.uefi_shell()
    else:
        capture.mark(session.not_planned_marker(session.UEFI_SHELL))
    if driver.linux_planned:
        driver.linux(shell)
    else:
        capture.mark(session.not_planned_marker(session.LINUX))
        capture.mark(session.not_planned_marker(session.LINUX_SHELL))
    capture.mark(session.COMPLETE)


def execute(request: RunRequest, stream: TextIO | None = None) -> RunOutcome:
    """Run the whole job and return the outcome; reports are written in every case."""
    target = prepare_target(request)
    if request.linux and target.credentials:
        from armcheck.shells import Credentials

        # A missing password variable is a usage error: report it before power-on,
        # not at the login prompt after a whole boot.
        Credentials.from_target(target.credentials, target.name)
    profile, profile_spec = _load_profile(request, target)
    run_dir = request.run_dir or default_run_dir(target)
    run_dir.mkdir(parents=True, exist_ok=True)
    capture_path = request.capture or run_dir / "capture.cast"
    junit_path = request.junit or run_dir / "junit.xml"
    json_path = request.json or run_dir / "report.json"

    started = time.monotonic()
    capture = CaptureWriter(capture_path, target=target.name, extra={"profile": profile_spec})
    capture.mark(session.RUN_START)
    error: str | None = None
    status_of_error = EXIT_INCOMPLETE
    interrupted = False
    with Progress(stream, enabled=request.progress) as progress:
        progress.set_stage(session.POWER_ON, target.name)
        console: Console | None = None
        try:
            console = open_console(target, capture)
            total = request.timeout if request.timeout is not None else target.timeouts.get("total")
            driver = BootDriver(console, target, progress, total)
            drive(driver, capture, request.linux)
        except ArmcheckError as err:
            error = str(err)
            status_of_error = err.exit_status
            log.info("run ended early: %s", error)
            capture.mark(session.error_marker(error))
        except KeyboardInterrupt:
            interrupts.handled()
            interrupted = True
            error = "interrupted by the user"
            capture.mark(session.INTERRUPTED)
        except Exception as err:  # noqa: BLE001 - a bug must still leave capture and reports
            log.exception("armcheck failed during the run")
            error = f"internal error in armcheck: {type(err).__name__}: {err}"
            capture.mark(session.error_marker(error))
        finally:
            if console is not None:
                try:
                    console.close()
                except ArmcheckError as err:
                    log.warning("closing the console: %s", err)
            capture.close()
        progress.set_stage("checks", "reading the capture")

    outcome = check_capture(
        capture_path, profile, target.name, junit_path, json_path, request.strict
    )
    outcome.run_dir = run_dir
    outcome.profile = profile.name
    outcome.error = error
    outcome.seconds = time.monotonic() - started
    if interrupted:
        outcome.status = EXIT_INTERRUPTED
    elif error is not None:
        outcome.status = status_of_error
    return outcome


def _load_profile(request: RunRequest, target: Target) -> tuple[Any, str]:
    """Load the run's profile: --profile, else the target's, else SBBR.

    Returns the profile and how to find it again (a built-in name or an absolute
    path), which the capture records for `armcheck check`.
    """
    from armcheck.errors import ProfileError
    from armcheck.profiles import find_profile, load_profile

    if request.profile:
        path = find_profile(request.profile)
        requested, where = request.profile, "--profile"
    else:
        requested = target.profile or "sbbr"
        source = Path(target.source).parent if target.source else None
        where = f"target {target.source or target.name}"
        try:
            path = find_profile(requested, source)
        except ProfileError as err:
            raise ProfileError(f"{where}: {err}") from err
    spec = requested if path.parent == find_profile("sbbr").parent else str(path.resolve())
    log.info("profile %s from %s", spec, where)
    return load_profile(str(path)), spec


def check_capture(
    capture_path: Path,
    profile: Any,
    target_name: str,
    junit_path: Path,
    json_path: Path,
    strict: bool = False,
) -> RunOutcome:
    """Read facts from a run's capture, check them, and write JUnit and JSON reports.

    This is what `armcheck check CAPTURE` does, so both give the same verdicts.
    """
    from armcheck.verdict import (
        decide,
        read_check_inputs,
        report_properties,
        run_state_of,
        run_summary,
        verdict_status,
        write_reports,
    )

    state = run_state_of([capture_path])
    facts = read_check_inputs([str(capture_path)])
    results, _context = decide(facts, profile, state, target_name)
    properties = report_properties(facts, profile, target_name, str(capture_path))
    run = run_summary(state)
    write_reports(facts, results, profile, properties, str(junit_path), str(json_path), run)
    return RunOutcome(
        status=verdict_status(results, state, strict),
        run_dir=capture_path.parent,
        capture=capture_path,
        junit=junit_path,
        json=json_path,
        results=results,
        facts=facts,
        error=state.error,
        reached=list(state.reached),
    )
