"""Power control: the target file's shell commands for a board, the process for qemu.

A board's target file may give `power: {on: ..., off: ..., cycle: ...}`, each a
shell command line (a PDU's CLI, `ipmitool ... chassis power on`). armcheck
runs them after the console is open, so the first byte after power-on is
captured, and marks `power-on` in the capture as the command starts.

For qemu the process start is the power-on, and `power-on` is marked at the
moment the process was started.
"""

from __future__ import annotations

import logging
import subprocess
import time
from typing import TYPE_CHECKING, Any

from armcheck.console.base import Console
from armcheck.errors import ConsoleError

if TYPE_CHECKING:
    from armcheck.console.qemu import QemuTransport

log = logging.getLogger(__name__)

POWER_COMMAND_TIMEOUT = 120.0
OUTPUT_TAIL_CHARS = 2000
POWER_ON_MARK = "power-on"
POWER_OFF_MARK = "power-off"


def power_on(target: Any, console: Console, timeout: float = POWER_COMMAND_TIMEOUT) -> bool:
    """Power the target on after its console is open; return whether armcheck did it.

    Runs `power.on`, else `power.cycle`. Without either, the board is only
    watched and time zero stays the attach. Raise ConsoleError when the command fails.
    """
    if _is_qemu(console):
        _mark_qemu_start(console)
        return True
    if "on" in target.power:
        action = "on"
    elif "cycle" in target.power:
        action = "cycle"
    else:
        log.info("target %s has no power control; time zero is the console attach", target.name)
        return False
    console.mark(POWER_ON_MARK)
    run_power_command(target, action, timeout)
    return True


def power_off(target: Any, console: Console | None = None,
              timeout: float = POWER_COMMAND_TIMEOUT) -> bool:  # fmt: skip
    """Power the target off; return False when the target has no way to do it.

    For qemu this ends the process (the console then closes).
    """
    if console is not None and _is_qemu(console):
        console.mark(POWER_OFF_MARK)
        console.transport.close()
        return True
    if "off" not in target.power:
        return False
    if console is not None:
        console.mark(POWER_OFF_MARK)
    run_power_command(target, "off", timeout)
    return True


def power_cycle(target: Any, console: Console | None = None,
                timeout: float = POWER_COMMAND_TIMEOUT) -> bool:  # fmt: skip
    """Power-cycle the target: `power.cycle`, else `power.off` then `power.on`.

    For qemu this is a reset through QMP (`system_reset`). Return False when the
    target has no way to do it.
    """
    qemu = _qemu_transport(console) if console is not None else None
    if console is not None and qemu is not None:
        console.mark(POWER_ON_MARK)
        qemu.reset()
        return True
    if "cycle" in target.power:
        if console is not None:
            console.mark(POWER_ON_MARK)
        run_power_command(target, "cycle", timeout)
        return True
    if "off" in target.power and "on" in target.power:
        run_power_command(target, "off", timeout)
        if console is not None:
            console.mark(POWER_ON_MARK)
        run_power_command(target, "on", timeout)
        return True
    return False


def run_power_command(target: Any, action: str, timeout: float = POWER_COMMAND_TIMEOUT) -> str:
    """Run the target's `power.<action>` shell command and return its output.

    Raise ConsoleError with the exit status and the end of the output when the
    command fails, cannot start or runs longer than `timeout` seconds.
    """
    command = target.power[action]
    log.info("power %s for %s: running %s", action, target.name, command)
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise ConsoleError(
            f"power {action} command for target {target.name} timed out after {timeout:.0f} s: "
            f"{command}{_tail(err.output)}"
        ) from err
    except OSError as err:
        raise ConsoleError(
            f"power {action} command for target {target.name} could not start: {err.strerror}"
        ) from err
    output = result.stdout.decode("utf-8", "replace")
    if result.returncode != 0:
        raise ConsoleError(
            f"power {action} command for target {target.name} failed with exit status "
            f"{result.returncode}: {command}{_tail(result.stdout)}"
        )
    log.info("power %s for %s done in %.2f s", action, target.name, time.monotonic() - started)
    return output


def _tail(output: bytes | str | None) -> str:
    if not output:
        return "; it printed nothing"
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output
    return "; its output ends with:\n" + text[-OUTPUT_TAIL_CHARS:].rstrip()


def _is_qemu(console: Console) -> bool:
    return _qemu_transport(console) is not None


def _qemu_transport(console: Console) -> QemuTransport | None:
    from armcheck.console.qemu import QemuTransport

    transport = console.transport
    return transport if isinstance(transport, QemuTransport) else None


def _mark_qemu_start(console: Console) -> None:
    """Mark `power-on` at the moment the qemu process was started.

    The mark is placed at the start time, not at the time of this call, so
    the firmware's first byte can never appear to come before the power-on.
    """
    started = getattr(console.transport, "started_at", None)
    if started is None or console.capture is None:
        console.mark(POWER_ON_MARK)
        return
    at = max(0.0, started - console.start)
    console.capture.mark(POWER_ON_MARK, at)
    log.info("phase %s at %.3f s (qemu started)", POWER_ON_MARK, at)
