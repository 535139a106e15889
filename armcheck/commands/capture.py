"""Commands: `armcheck capture`, `armcheck replay` and `armcheck console`.

capture records a console into a capture file until a pattern shows or a
timeout passes. replay plays a capture back on standard output or on a new
pseudo-terminal. console is an interactive terminal on the board that records
what the board prints.
"""

from __future__ import annotations

import logging
import os
import re
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import click

from armcheck.capture import OUTPUT, CaptureWriter, Event, iter_events
from armcheck.commands.options import baud_option
from armcheck.console.base import Console
from armcheck.console.pty_reader import has_reader, wait_for_reader, wait_for_reader_gone
from armcheck.console.replay import validate_speed
from armcheck.errors import ConsoleClosed, UsageError
from armcheck.targets import open_console, resolve_target

log = logging.getLogger(__name__)

DEFAULT_CAPTURE_TIMEOUT = 300.0
ESCAPE_KEY = b"\x1d"  # Ctrl-], the escape key of telnet and pyserial's miniterm
# Seconds between a reader opening the pseudo-terminal and the first byte:
# pyserial discards pending input right after it opens a port, so bytes sent
# at once could be lost.
PTY_SETTLE = 0.1


def _compile_until(until: str | None) -> re.Pattern[str] | None:
    if until is None:
        return None
    try:
        return re.compile(until)
    except re.error as err:
        raise UsageError(
            f"invalid --until pattern {until!r}: {err}; give a Python regular expression"
        ) from err


def _check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise UsageError(f"invalid --timeout {timeout!r}: give a number of seconds above 0")


@click.command("capture")
@click.argument("target", required=False)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Capture file to write (asciicast v2; see docs/capture.md).",
)
@click.option(
    "--until",
    metavar="REGEX",
    help="Stop when this Python regular expression matches the console text, "
    "with escape sequences removed.",
)
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_CAPTURE_TIMEOUT,
    show_default=True,
    help="Seconds to record at most.",
)
@baud_option
def capture_command(
    target: str | None, output: str, until: str | None, timeout: float, baud: int
) -> None:
    """Record TARGET's console into a capture file.

    TARGET is a built-in target name (default qemu-virt), a YAML target file,
    a serial device path or an rfc2217:// or socket:// URL. The target is
    powered on where it can be. With --until, the exit status is 0 once the
    pattern is seen and 3 when the timeout passes first. Without --until, the
    recording runs for --timeout seconds and exits 0. A lost console exits 3,
    bad arguments exit 2, and Ctrl-C closes the capture and exits 130.
    Death patterns (panics, exceptions) do not stop a capture.
    """
    pattern = _compile_until(until)
    _check_timeout(timeout)
    spec = resolve_target(target, baud=baud)
    writer = CaptureWriter(output, target=spec.name)
    console: Console | None = None
    try:
        try:
            console = open_console(spec, writer)
        except BaseException:
            # Nothing was recorded: leave no capture that holds only its header.
            writer.close()
            os.unlink(output)
            raise
        # A capture records whatever the board does, panics included.
        console.death_patterns.clear()
        if pattern is None:
            console.drain(timeout)
            click.echo(
                f"armcheck: recorded {console.bytes_read} bytes in {timeout:g} s "
                f"from {spec.name} into {output}",
                err=True,
            )
            return
        match = console.expect(pattern.pattern, timeout, what=f"--until {until!r}")
        click.echo(
            f"armcheck: saw {match.text.strip()!r} after {match.time:.3f} s; recorded "
            f"{console.bytes_read} bytes from {spec.name} into {output}",
            err=True,
        )
    finally:
        if console is not None:
            console.close()
        writer.close()


@click.command("replay")
@click.argument("capture_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Play FACTOR times faster than recorded (0.5 plays at half speed).",
    metavar="FACTOR",
)
@click.option(
    "--pty",
    "serve_pty",
    is_flag=True,
    help="Serve the output on a new pseudo-terminal instead of standard output: "
    "print its path, start when a reader opens it, stop when the reader closes it.",
)
def replay_command(capture_file: str, speed: float, serve_pty: bool) -> None:
    """Play the console output recorded in CAPTURE_FILE, byte for byte.

    The recorded timing is divided by --speed. Input and marker events are
    not played.
    """
    try:
        speed = validate_speed(speed)
    except UsageError as err:
        raise UsageError(f"--speed: {err}") from err
    events = (event for event in iter_events(capture_file) if event.kind == OUTPUT)
    if serve_pty:
        _replay_on_pty(events, speed)
        return
    out = sys.stdout.buffer

    def write_stdout(data: bytes) -> bool:
        out.write(data)
        out.flush()
        return True

    try:
        _play(events, speed, write_stdout)
    except BrokenPipeError:
        # The reader (`| head`) went away; that ends the replay, it is no error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _play(events: Iterator[Event], speed: float, write: Callable[[bytes], bool]) -> bool:
    """Write each output event at its recorded time divided by `speed`.

    Return False as soon as `write` returns False (the reader left), else True.
    """
    start = time.monotonic()
    for event in events:
        wait = start + event.time / speed - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if not write(event.data):
            return False
    return True


def _replay_on_pty(events: Iterator[Event], speed: float) -> None:
    master, slave = os.openpty()
    # Raw mode: the line discipline must not turn "\n" into "\r\n" or echo.
    tty.setraw(slave)
    path = os.ttyname(slave)
    os.close(slave)
    click.echo(path)
    sys.stdout.flush()

    def write_master(data: bytes) -> bool:
        if not has_reader(master):
            return False
        view = memoryview(data)
        while view:
            view = view[os.write(master, view) :]
        return True

    try:
        log.info("waiting for a reader to open %s", path)
        wait_for_reader(master)
        log.info("a reader opened %s; replaying", path)
        time.sleep(PTY_SETTLE)
        if _play(events, speed, write_master):
            click.echo(
                f"armcheck: end of capture; waiting for the reader to close {path}", err=True
            )
            wait_for_reader_gone(master)
        else:
            click.echo(
                f"armcheck: the reader closed {path} before the end of the capture", err=True
            )
    finally:
        os.close(master)


@click.command("console")
@click.argument("target", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Capture file to record into (default: armcheck-console-<UTC time>.cast here).",
)
@baud_option
def console_command(target: str | None, output: str | None, baud: int) -> None:
    """Open an interactive terminal on TARGET's console, recording as it goes.

    Keys go to the board as typed (Ctrl-C included); press Ctrl-] to leave.
    When standard input is not a terminal, its bytes are sent as they come,
    and after its end the output is shown until the console closes or Ctrl-C.
    The capture contains what the board printed but not the keys typed,
    because typed keys may be a password.
    """
    spec = resolve_target(target, baud=baud)
    if output is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        output = f"armcheck-console-{stamp}.cast"
    writer = CaptureWriter(output, target=spec.name)
    console: Console | None = None
    try:
        console = open_console(spec, writer)
        console.death_patterns.clear()
        click.echo(
            f"armcheck: connected to {spec.name}, recording into {output}; press Ctrl-] to leave",
            err=True,
        )
        reason = _run_terminal(console)
        click.echo(f"\r\narmcheck: {reason}; capture written to {output}", err=True)
    finally:
        if console is not None:
            console.close()
        writer.close()


def _run_terminal(console: Console) -> str:
    """Copy the board's output to the screen and keystrokes to the board; return why it ended."""
    stdin = sys.stdin.fileno()
    stdout = sys.stdout.fileno()
    stop = threading.Event()
    lost: list[str] = []

    def show_output() -> None:
        while not stop.is_set():
            try:
                data = console.read(0.1)
            except ConsoleClosed as err:
                lost.append(str(err))
                stop.set()
                return
            if data:
                os.write(stdout, data)

    reader = threading.Thread(target=show_output, name="console-output", daemon=True)
    saved = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    if saved is not None:
        tty.setraw(stdin)
    reader.start()
    try:
        reason = _forward_keys(console, stdin, stop)
    finally:
        stop.set()
        reader.join()
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
    return lost[0] if lost else reason


def _forward_keys(console: Console, stdin: int, stop: threading.Event) -> str:
    stdin_open = True
    while not stop.is_set():
        if not stdin_open:
            stop.wait(0.1)
            continue
        ready, _, _ = select.select([stdin], [], [], 0.1)
        if not ready:
            continue
        data = os.read(stdin, 1024)
        if not data:
            stdin_open = False
            continue
        if ESCAPE_KEY in data:
            head = data.split(ESCAPE_KEY, 1)[0]
            if head:
                console.transport.write(head)
            return "left the console (Ctrl-])"
        # Keys bypass Console.send so that they never reach the capture.
        console.transport.write(data)
    return "console closed"


COMMANDS = [capture_command, replay_command, console_command]
