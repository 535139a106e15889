"""`armcheck run`: from power-on to verdict.

The run is a fixed sequence of stages, each waiting for what ends it and
failing fast at the first error:

    power-on -> firmware -> uefi-shell (collect) -> linux -> linux-shell (collect) -> power-off

The run only drives the console. Facts come afterwards from the capture,
through the same reader as `armcheck check`, and the capture records (as
markers, see armcheck.session) how far the run got, so a saved capture
checked later gives the verdicts of the live run. Whatever happens (a lost
console, a timeout, a panic, Ctrl-C), the capture is flushed and the reports
are written before the run returns.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from armcheck import session
from armcheck.capture import CaptureWriter
from armcheck.collect import LINUX_COMMANDS, collect_uefi
from armcheck.console.base import Console
from armcheck.errors import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    ArmcheckError,
    ConsoleTimeout,
    TargetError,
    UsageError,
)
from armcheck.facts import Facts
from armcheck.progress import Progress
from armcheck.results import CheckResult
from armcheck.targets import QEMU, Target, open_console, resolve_target

log = logging.getLogger(__name__)

# Stage timeouts in seconds; a target file may override them under `timeouts`.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "firmware": 120.0,
    "uefi-shell": 120.0,
    "linux": 300.0,
    "linux-shell": 300.0,
    "power-off": 30.0,
}
# Printed by firmware when it starts; a second one during the run means the board reset.
FIRMWARE_BANNER = (
    r"UEFI firmware \(version|TianoCore \d|U-Boot \d{4}\.\d{2}|"
    r"American Megatrends|NOTICE:  BL1: "
)
SHELL_PROMPT = r"Shell> "


@dataclass
class RunRequest:
    """What the user asked `armcheck run` to do."""

    target: str | None = None
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
    """Where the run ended, what it wrote, and its exit status."""

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


class Deadline:
    """A monotonic deadline for the whole run; None means no overall limit."""

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def cap(self, seconds: float) -> float:
        if self.end is None:
            return seconds
        return max(0.0, min(seconds, self.end - time.monotonic()))


def prepare_target(request: RunRequest) -> Target:
    """Resolve the target and apply the command line's kernel, initrd, append and disk."""
    target = resolve_target(request.target)
    overrides = {
        "kernel": request.kernel,
        "initrd": request.initrd,
        "append": request.append,
        "disk": request.disk,
    }
    given = {key: value for key, value in overrides.items() if value is not None}
    if given and target.kind != QEMU:
        raise UsageError(
            f"--{'/--'.join(given)} apply to qemu targets only; target {target.name} is a "
            f"{target.kind} console, which boots what the board has"
        )
    for key, value in given.items():
        if key in ("kernel", "initrd", "disk") and not Path(value).is_file():
            raise UsageError(f"--{key} {value}: no such file")
        target.qemu[key] = value
    if "kernel" in given:
        target.qemu["guest"] = False
    return target


def default_run_dir(target: Target) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target.name).strip("_") or "target"
    return Path("runs") / f"{stamp}-{safe}"


class BootDriver:
    """Drives one console through the stages; each method returns or raises ConsoleError."""

    def __init__(
        self, console: Console, target: Target, request: RunRequest, progress: Progress
    ) -> None:
        self.console = console
        self.target = target
        self.request = request
        self.progress = progress
        self.deadline = Deadline(request.timeout)
        self.timeouts = dict(DEFAULT_TIMEOUTS)
        for stage, seconds in (target.options.get("timeouts") or {}).items():
            self.timeouts[str(stage)] = float(seconds)
        self.prompt_consumed = False

    def timeout(self, stage: str) -> float:
        return self.deadline.cap(self.timeouts[stage])

    def firmware(self) -> None:
        """Wait for the firmware banner (or the shell prompt); a second banner then means a reset.

        A board whose firmware prints no banner armcheck knows still goes on to the
        next stage once it printed anything; a console that stays silent is an error.
        """
        self.console.mark(session.FIRMWARE)
        self.progress.set_stage(session.FIRMWARE, "waiting for the firmware banner")
        try:
            match = self.console.expect(
                [FIRMWARE_BANNER, SHELL_PROMPT], self.timeout("firmware"), what="a firmware banner"
            )
        except ConsoleTimeout:
            if self.console.bytes_read == 0:
                raise
            log.warning("no known firmware banner in %.0f s; going on", self.timeout("firmware"))
            return
        self.progress.set_detail(match.text.strip()[:60])
        if match.index == 0:
            self.console.add_death_pattern(
                FIRMWARE_BANNER, "the board reset (a second firmware banner appeared)"
            )
        self.prompt_consumed = match.index == 1

    def uefi_shell(self) -> Any:
        from armcheck.shells import UefiShell

        self.progress.set_stage(session.UEFI_SHELL, "reaching the UEFI shell")
        self._enter_uefi_shell()
        shell = UefiShell(self.console, self.target.prompts.get("uefi_shell"))
        if self.prompt_consumed:
            # The prompt was already consumed while looking for a banner: ask for a new one.
            self.console.sendline("")
        shell.reach(self.timeout("uefi-shell"))

        def run(command: str, timeout: float) -> str:
            self.progress.set_detail(command)
            self.console.mark(session.command_marker(session.UEFI_SHELL, command))
            return shell.run(command, self.deadline.cap(timeout))

        collection = collect_uefi(run, on_step=self.progress.set_detail)
        for problem in collection.problems:
            log.warning("UEFI shell collection: %s", problem)
        return shell

    def _enter_uefi_shell(self) -> None:
        """Send the keys a board needs to reach the UEFI shell (from the target file)."""
        boot = self.target.options.get("boot") or {}
        for key in boot.get("uefi_shell_keys", []):
            self.console.send_key(str(key))

    def linux(self, shell: Any) -> None:
        from armcheck.shells import Credentials, LinuxShell

        self.progress.set_stage(session.LINUX, "starting Linux")
        linux_boot = getattr(self.console.transport, "linux", None)
        boot = self.target.options.get("boot") or {}
        command = boot.get("uefi_shell_command") or (
            linux_boot.shell_command() if linux_boot is not None else None
        )
        if command is None:
            raise TargetError(
                f"target {self.target.name} says nothing about how to start an OS from the "
                "UEFI shell: build the guest (make guest), pass --kernel/--initrd, or set "
                "boot.uefi_shell_command in the target file"
            )
        shell.start_linux(command, self.timeout("linux"))

        self.progress.set_stage(session.LINUX_SHELL, "waiting for a shell")
        credentials = Credentials.from_target(self.target.credentials, self.target.name)
        linux = LinuxShell(
            self.console,
            credentials,
            prompt=self.target.prompts.get("linux_shell"),
            login_prompt=self.target.prompts.get("login"),
        )
        linux.reach(self.timeout("linux-shell"))
        for command, timeout in LINUX_COMMANDS:
            self.progress.set_detail(command.split(" &&")[0][:60])
            self.console.mark(session.command_marker(session.LINUX_SHELL, command))
            linux.run(command, self.deadline.cap(timeout), strip_printk=command != "dmesg")

        self.progress.set_stage(session.POWER_OFF)
        if self.target.kind == QEMU:
            linux.power_off(self.timeout("power-off"))

    def has_linux(self) -> bool:
        """Tell whether the target says how to start an OS from the UEFI shell."""
        boot = self.target.options.get("boot") or {}
        if boot.get("uefi_shell_command"):
            return True
        if getattr(self.console.transport, "linux", None) is not None:
            return True
        if self.target.kind == QEMU and self.target.qemu.get("guest"):
            from armcheck.console.qemu import missing_guest_message

            self.progress.note(f"no Linux stage: {missing_guest_message()}")
        return False


def execute(request: RunRequest, stream: TextIO | None = None) -> RunOutcome:
    """Run the whole job and return the outcome; reports are written in every case."""
    target = prepare_target(request)
    run_dir = request.run_dir or default_run_dir(target)
    run_dir.mkdir(parents=True, exist_ok=True)
    capture_path = request.capture or run_dir / "capture.cast"
    junit_path = request.junit or run_dir / "junit.xml"
    json_path = request.json or run_dir / "report.json"
    profile = _load_profile(request, target)

    started = time.monotonic()
    capture = CaptureWriter(capture_path, target=target.name, extra={"profile": profile.name})
    capture.mark(session.RUN_START)
    error: str | None = None
    status_of_error = EXIT_INCOMPLETE
    interrupted = False
    with Progress(stream, enabled=request.progress) as progress:
        progress.set_stage(session.POWER_ON, target.name)
        console: Console | None = None
        try:
            console = open_console(target, capture)
            driver = BootDriver(console, target, request, progress)
            driver.firmware()
            shell = driver.uefi_shell()
            if request.linux and driver.has_linux():
                driver.linux(shell)
            else:
                capture.mark(session.not_planned_marker(session.LINUX))
                capture.mark(session.not_planned_marker(session.LINUX_SHELL))
            capture.mark(session.COMPLETE)
        except ArmcheckError as err:
            error = str(err)
            status_of_error = err.exit_status
            log.info("run ended early: %s", error)
            capture.mark(session.error_marker(error))
        except KeyboardInterrupt:
            interrupted = True
            error = "interrupted by the user"
            capture.mark(session.INTERRUPTED)
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
    outcome.error = error
    outcome.seconds = time.monotonic() - started
    if interrupted:
        outcome.status = EXIT_INTERRUPTED
    elif error is not None:
        outcome.status = status_of_error
    return outcome


def _load_profile(request: RunRequest, target: Target) -> Any:
    from armcheck.profiles import load_profile

    name = request.profile or target.profile or "sbbr"
    return load_profile(name)


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
        verdict_status,
        write_reports,
    )

    state = run_state_of([capture_path])
    facts = read_check_inputs([str(capture_path)])
    results, _context = decide(facts, profile, state, target_name)
    properties = report_properties(facts, profile, target_name, str(capture_path))
    run = {
        "reached": state.reached,
        "complete": state.complete,
        "error": state.error,
        "interrupted": state.interrupted,
    }
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
