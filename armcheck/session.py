"""Markers that a live run writes into its capture, and the run state read back from them.

`armcheck check saved.cast` must give exactly the verdicts of the live run
that recorded it. The verdicts depend on how far the run got: a check whose
evidence lies in a stage the run never reached is an error, not a skip. So
the run writes its progress into the capture as asciicast marker events, and
the offline check reads them back:

- `run` first, which tells a capture of `armcheck run` from other captures;
- the stage name (see STAGES) when the run enters a stage; the shell
  helpers in armcheck.shells mark `uefi-shell`, `linux`, `linux-shell` and
  `power-off` themselves, and armcheck.console.power marks `power-on`;
- `command SHELL: TEXT` before each command armcheck types into a shell,
  so that parsers can tell command output from the boot log;
- `not planned: STAGE` for a stage the run leaves out on purpose (`--no-linux`,
  a target without a UEFI shell), so that its checks are skipped, not errors;
- `collection failed: STAGE: PROBLEM` when a command armcheck ran in a shell
  failed (not found by the shell), so that the checks that needed its output
  are errors, not skips;
- `error: MESSAGE` when the run ends early (console lost, timeout, panic);
- `interrupted` on Ctrl-C, and `complete` when every stage finished.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from armcheck.capture import MARKER, iter_events
from armcheck.errors import CaptureFormatError

POWER_ON = "power-on"
FIRMWARE = "firmware"
UEFI_SHELL = "uefi-shell"
LINUX = "linux"
LINUX_SHELL = "linux-shell"
POWER_OFF = "power-off"
STAGES = (POWER_ON, FIRMWARE, UEFI_SHELL, LINUX, LINUX_SHELL, POWER_OFF)

RUN_START = "run"
# Lines the Linux shell helper prints around each command's output:
# `ARMCHECK_BEGIN_N` before it and `ARMCHECK_END_N_STATUS` after it.
OUTPUT_BEGIN = "ARMCHECK_BEGIN_"
OUTPUT_END = "ARMCHECK_END_"
COMMAND_PREFIX = "command "
ERROR_PREFIX = "error: "
NOT_PLANNED_PREFIX = "not planned: "
COLLECTION_FAILED_PREFIX = "collection failed: "
COMPLETE = "complete"
INTERRUPTED = "interrupted"


def command_marker(shell: str, command: str) -> str:
    return f"{COMMAND_PREFIX}{shell}: {command}"


def not_planned_marker(stage: str) -> str:
    return NOT_PLANNED_PREFIX + stage


def collection_failed_marker(stage: str, problem: str) -> str:
    return f"{COLLECTION_FAILED_PREFIX}{stage}: {problem.splitlines()[0] if problem else ''}"


def first_line(message: str) -> str:
    """Return the first line of an error message, without the lead-in to the console lines."""
    line = message.splitlines()[0] if message else ""
    return line.removesuffix("; last lines seen:")


def error_marker(message: str) -> str:
    # A marker is one line in players; keep the first line of the message.
    return ERROR_PREFIX + first_line(message) if message else ERROR_PREFIX.strip()


@dataclass(frozen=True)
class CommandBlock:
    """A command armcheck typed, with the time span of its output."""

    shell: str
    command: str
    start: float
    end: float


@dataclass
class RunState:
    """How far a live run got, as its capture records it."""

    live: bool = False
    reached: list[str] = field(default_factory=list)
    not_planned: list[str] = field(default_factory=list)
    commands: list[CommandBlock] = field(default_factory=list)
    # Per stage, the problems of commands that failed there (first one first).
    collection_failures: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    complete: bool = False
    interrupted: bool = False

    @property
    def incomplete(self) -> bool:
        return self.live and not self.complete


def read_run_state(path: str | os.PathLike[str]) -> RunState:
    """Read the run markers of a capture; a capture without them was not a live run.

    `armcheck check` needs the state twice (for the verdict and for the facts
    reader), so a capture unchanged since the last call is not read again.
    Callers must not modify the returned state.
    """
    try:
        stat = os.stat(path)
    except OSError as err:
        raise CaptureFormatError(f"cannot read capture {path}: {err.strerror}") from err
    return _read_run_state(os.fspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_run_state(path: str, mtime_ns: int, size: int) -> RunState:
    state = RunState()
    pending: tuple[str, str, float] | None = None
    last_time = 0.0
    for event in iter_events(path):
        last_time = event.time
        if event.kind != MARKER:
            continue
        label = event.text
        if pending is not None and (label.startswith(COMMAND_PREFIX) or label in STAGES):
            state.commands.append(CommandBlock(pending[0], pending[1], pending[2], event.time))
            pending = None
        if label == RUN_START:
            state.live = True
        elif label in STAGES:
            if label not in state.reached:
                state.reached.append(label)
        elif label.startswith(COMMAND_PREFIX):
            shell, _, command = label[len(COMMAND_PREFIX) :].partition(": ")
            pending = (shell, command, event.time)
        elif label.startswith(NOT_PLANNED_PREFIX):
            state.not_planned.append(label[len(NOT_PLANNED_PREFIX) :])
        elif label.startswith(COLLECTION_FAILED_PREFIX):
            stage, _, problem = label[len(COLLECTION_FAILED_PREFIX) :].partition(": ")
            state.collection_failures.setdefault(stage, []).append(problem)
        elif label.startswith(ERROR_PREFIX.strip()):
            state.error = label[len(ERROR_PREFIX) :] if label.startswith(ERROR_PREFIX) else ""
        elif label == COMPLETE:
            state.complete = True
        elif label == INTERRUPTED:
            state.interrupted = True
    if pending is not None:
        state.commands.append(CommandBlock(pending[0], pending[1], pending[2], last_time))
    return state
