"""Drive the two shells armcheck collects evidence from: the UEFI shell and a Linux shell.

Both helpers cut a command's output out of the transcript lines (see
armcheck.transcript), not out of the raw stream, because the edk2 shell
echoes each typed character with its own cursor-positioning sequence and
redraws its prompt with a cursor move; the transcript turns that back into
the lines a person sees.

`UefiShell.run("ver")` returns the output of `ver` without the echo and the
prompt, lines joined with "\\n". `LinuxShell.run("uname -r")` returns a
`ShellResult` with the output and the exit status.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from armcheck.console.base import Console, Match
from armcheck.deadline import Deadline
from armcheck.errors import ConsoleClosed, ConsoleError, ConsoleTimeout, TargetError
from armcheck.session import OUTPUT_BEGIN, OUTPUT_END
from armcheck.transcript import Line, LineSource

log = logging.getLogger(__name__)

# The edk2 shell prompt: `Shell> ` before a file system is selected, then the
# current directory, such as `FS0:\> ` or `FS0:\EFI\> `. It must start a line
# and end the text so far, because help texts quote it (`    Shell> memmap`).
UEFI_PROMPT = r"(?m)^(?:Shell|[A-Za-z][A-Za-z0-9]*:\\[^\r\n>]*)> \Z"
# edk2's shell counts down before it runs startup.nsh; any key but ESC ends the
# countdown at once, while ESC first waits for the escape-sequence timeout.
STARTUP_COUNTDOWN = r"Press ESC in \d+ seconds? to skip startup\.nsh"
# Shown by edk2 shell commands run with -b (one screen at a time).
PAGE_BREAK = r"Press ENTER to continue or 'Q' break:"

# The first words of a starting kernel: the EFI stub, or the kernel's own first lines.
KERNEL_START = [r"EFI stub: ", r"Booting Linux on physical CPU", r"Linux version \d"]

LOGIN_PROMPT = r"\blogin: *$"
# busybox init's askfirst: the shell starts only after Enter.
ACTIVATE_CONSOLE = r"Please press Enter to activate this console\."
# Seconds between attempts to set the ready prompt: a line typed while the
# console was not yet open by the shell is lost, so it is sent again.
CONFIGURE_RETRY = 5.0
PASSWORD_PROMPT = r"[Pp]assword: *$"
LINUX_PROMPT = r"[#$] *$"
# The prompt armcheck sets; written in the command as ARMCHECK''_READY so that
# the echo of that command line never matches it.
READY_PROMPT = "ARMCHECK_READY# "
# A kernel message on the console: `[   12.345678] text` (printk with timestamps).
PRINTK_LINE = re.compile(r"\[\s*\d+\.\d{6}\] ")
# Lines the recorder keeps between two commands, so a console that prints for
# hours without a command does not grow memory without bound.
MAX_KEPT_LINES = 200_000


class LineRecorder:
    """A transcript builder that also keeps every completed line, for cutting out output.

    It wraps the console's own `TranscriptBuilder` and delegates everything to
    it, so the console behaves as before.
    """

    def __init__(self, builder: LineSource) -> None:
        self.builder = builder
        self.lines: list[Line] = []
        self.screen: Screen | None = None
        self._dropped = 0  # lines forgotten before self.lines[0]

    def feed(self, data: bytes, at: float) -> list[Line]:
        if self.screen is not None:
            self.screen.feed(data)
        lines = self.builder.feed(data, at)
        self._keep(lines)
        return lines

    def finish(self, at: float | None = None) -> list[Line]:
        lines = self.builder.finish(at)
        self._keep(lines)
        return lines

    def _keep(self, lines: list[Line]) -> None:
        self.lines.extend(lines)
        if len(self.lines) > MAX_KEPT_LINES:
            # NOTE: a single command whose output is longer than half of
            # MAX_KEPT_LINES loses its first lines.
            drop = len(self.lines) - MAX_KEPT_LINES // 2
            del self.lines[:drop]
            self._dropped += drop

    @property
    def partial(self) -> str:
        return self.builder.partial

    def position(self) -> int:
        """Return a bookmark: the number of lines completed so far."""
        return self._dropped + len(self.lines)

    def since(self, position: int) -> list[Line]:
        """Return the lines completed after `position` and forget all kept lines."""
        taken = self.lines[max(0, position - self._dropped) :]
        self._dropped += len(self.lines)
        self.lines = []
        return taken

    def __getattr__(self, name: str) -> Any:
        return getattr(self.builder, name)


def line_recorder(console: Console) -> LineRecorder:
    """Return the console's line recorder, installing it on first use."""
    transcript = console.transcript
    if isinstance(transcript, LineRecorder):
        return transcript
    recorder = LineRecorder(transcript)
    console.transcript = recorder
    return recorder


# --- UEFI shell ------------------------------------------------------------------------


class UefiShell:
    """The edk2 UEFI shell on a console: reach `Shell>`, run commands, take their output."""

    def __init__(self, console: Console, prompt: str | None = None) -> None:
        self.console = console
        self.prompt = prompt or UEFI_PROMPT
        self.recorder = line_recorder(console)

    def reach(self, timeout: float = 60.0) -> Match:
        """Wait for the shell prompt, ending edk2's startup.nsh countdown with Enter.

        Marks `uefi-shell` in the capture when the prompt appears.
        """
        deadline = Deadline(timeout)
        while True:
            match = self.console.expect(
                [self.prompt, STARTUP_COUNTDOWN],
                deadline.remaining(),
                what="the UEFI shell prompt",
            )
            if match.index == 0:
                self.console.mark("uefi-shell")
                return match
            log.debug("skipping the startup.nsh countdown with Enter")
            self.console.send_key("ENTER")

    def run(self, command: str, timeout: float = 30.0) -> str:
        """Run one shell command and return its output, without echo and prompt.

        The command line ends with CR, the Enter key of a serial terminal. A page
        break prompt (from commands run with -b) is answered with Enter and left
        out of the output.
        """
        start = self.recorder.position()
        deadline = Deadline(timeout)
        self.console.sendline(command)
        while True:
            match = self.console.expect(
                [self.prompt, PAGE_BREAK],
                deadline.remaining(),
                what=f"the UEFI shell prompt after {command!r}",
            )
            if match.index == 0:
                break
            self.console.send_key("ENTER")
        lines = [line.text for line in self.recorder.since(start)]
        output = _drop_echo(lines, command)
        output = [line for line in output if not re.search(PAGE_BREAK, line)]
        return "\n".join(output)

    def run_script(self, command: str, done: str, timeout: float = 60.0) -> list[str]:
        """Run a shell script whose last line prints `done`; return the lines in between.

        The lines include the shell's echo of each command in the script, such as
        `Shell> ver`. An echo line is printed in two writes, prompt and then
        command, so a prompt is no sign that the script ended: the `done` line is.
        """
        start = self.recorder.position()
        deadline = Deadline(timeout)
        self.console.sendline(command)
        missing = rf"'{re.escape(command)}' is not recognized as an internal or external command"
        while True:
            match = self.console.expect(
                [rf"(?m)^{re.escape(done)}\r?$", PAGE_BREAK, missing],
                deadline.remaining(),
                what=f"the end of the UEFI shell script {command!r}",
            )
            if match.index != 1:
                break
            self.console.send_key("ENTER")
        self.console.expect(
            self.prompt, deadline.remaining(), what=f"the UEFI shell prompt after {command!r}"
        )
        lines = [line.text for line in self.recorder.since(start)]
        output = _drop_echo(lines, command)
        end = next((i for i, line in enumerate(output) if line.strip() == done), len(output))
        return [line for line in output[:end] if not re.search(PAGE_BREAK, line)]

    def start_linux(self, command_line: str, timeout: float = 30.0) -> None:
        """Start a kernel from the shell (an EFI stub image) and wait until it runs.

        `command_line` is a shell line such as `FS0:\\vmlinuz initrd=\\initrd.gz
        console=ttyAMA0` (see LinuxBoot.shell_command). Marks `linux` when the
        EFI stub or the kernel speaks.
        """
        self.console.sendline(command_line)
        self.console.expect(
            KERNEL_START,
            timeout,
            what=f"the kernel to start after {command_line!r}",
        )
        self.console.mark("linux")


def os_start_line(boot: dict[str, Any], console: Console) -> str | None:
    """Return the UEFI shell line that starts the OS, or None when nothing names one.

    A target's `boot.uefi_shell_command` names it. For qemu with a kernel on a
    FAT drive (the guest, or --kernel), the transport builds it and puts it in
    a script on the same drive, so the line typed is only the script's name.
    """
    command = boot.get("uefi_shell_command")
    if command:
        return str(command)
    linux_boot = getattr(console.transport, "linux", None)
    if linux_boot is None:
        return None
    return linux_boot.start_script or linux_boot.shell_command()


def _drop_echo(lines: list[str], command: str) -> list[str]:
    """Remove the prompt-and-echo lines at the start of a command's output.

    The echo is usually one line (`Shell> ver`), but a command longer than the
    terminal is wrapped onto more rows.
    """
    wanted = "".join(command.split())
    echo = ""
    for index, line in enumerate(lines[:8]):
        echo += "".join(line.split())
        if echo.endswith(wanted):
            return lines[index + 1 :]
    return lines[1:]


# --- firmware menus ------------------------------------------------------------------

_SCREEN_TOKEN = re.compile(r"\x1b\[([0-9;?=]*)([@-~])|\x1b[^\[]|[\r\n\x08]|[^\x1b\r\n\x08]+")


class Screen:
    """A small model of a VT100 screen: the character and colours in each cell.

    Firmware setup menus (edk2's form browser, most vendors' boot menus) draw
    with cursor positioning and show the selected entry in other colours than
    its neighbours, so menus are read from this model, not from transcript lines.
    Only cursor positioning, erase display and colours (SGR) are modelled.
    """

    def __init__(self) -> None:
        self.cells: dict[int, dict[int, tuple[str, str]]] = {}
        self.row = 1
        self.column = 1
        self.colours = ""
        self._held = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> None:
        text = self._held + self._decoder.decode(data)
        self._held = ""
        cut = text.rfind("\x1b")
        if cut >= 0 and len(text) - cut < 32 and not re.match(r"\x1b\[[0-9;?=]*[@-~]", text[cut:]):
            text, self._held = text[:cut], text[cut:]
        for token in _SCREEN_TOKEN.finditer(text):
            self._apply(token)

    def _apply(self, token: re.Match[str]) -> None:
        final = token.group(2)
        if final is not None:
            self._csi(token.group(1) or "", final)
            return
        value = token.group(0)
        if value == "\r":
            self.column = 1
        elif value == "\n":
            self.row += 1
        elif value == "\x08":
            self.column = max(1, self.column - 1)
        elif not value.startswith("\x1b"):
            row = self.cells.setdefault(self.row, {})
            for char in value:
                if char >= " ":
                    row[self.column] = (char, self.colours)
                    self.column += 1

    def _csi(self, params: str, final: str) -> None:
        numbers = [int(part) if part.isdigit() else 0 for part in params.split(";")]
        if final in "Hf":
            self.row = max(1, numbers[0]) if numbers else 1
            self.column = max(1, numbers[1]) if len(numbers) > 1 else 1
        elif final == "J" and numbers and numbers[0] == 2:
            self.cells.clear()
        elif final == "m":
            # Colours set by the last SGR sequences; reset (0) starts a new set.
            self.colours = "" if params in ("", "0") else self.colours + ";" + params

    def text(self, row: int) -> str:
        """Return the characters of one row, with spaces where nothing was drawn."""
        cells = self.cells.get(row, {})
        if not cells:
            return ""
        return "".join(cells.get(column, (" ", ""))[0] for column in range(1, max(cells) + 1))

    def find(self, label: str) -> tuple[int, int] | None:
        """Return the row and column where `label` is drawn, or None."""
        for row in sorted(self.cells):
            column = self.text(row).find(label)
            if column >= 0:
                return row, column + 1
        return None

    def colours_at(self, row: int, column: int) -> str:
        return self.cells.get(row, {}).get(column, (" ", ""))[1]

    def highlighted_row(self, column: int) -> int | None:
        """Return the row of the one entry starting at `column` drawn in colours of its own.

        Menu entries start in the same column; the selected one is drawn in
        colours that no other entry in that column has.
        """
        entries = {}
        for row in sorted(self.cells):
            text = self.text(row)
            if (
                len(text) >= column
                and text[column - 1] != " "
                and text[: column - 1].strip()
                in (
                    "",
                    ">",
                )
            ):
                entries[row] = self.colours_at(row, column)
        counts: dict[str, int] = {}
        for colours in entries.values():
            counts[colours] = counts.get(colours, 0) + 1
        unique = [row for row, colours in entries.items() if counts[colours] == 1]
        if len(entries) >= 2 and len(unique) == 1:
            return unique[0]
        return None


class FirmwareMenu:
    """Select firmware menu entries by their label, never by their number.

    Boot managers renumber their entries when boot options change, so the
    target file names the entry (`EFI Internal Shell`) and this class moves
    the highlight with the arrow keys until that entry is selected.
    """

    def __init__(self, console: Console, menu_key: str = "ESC") -> None:
        self.console = console
        self.menu_key = menu_key
        self.recorder = line_recorder(console)
        if self.recorder.screen is None:
            self.recorder.screen = Screen()
        self.screen = self.recorder.screen

    def open(self, label: str, timeout: float = 60.0, interval: float = 0.2) -> None:
        """Press the menu key every `interval` seconds until `label` is on the screen."""
        deadline = Deadline(timeout)
        while self.screen.find(label) is None:
            if deadline.expired:
                raise ConsoleTimeout(
                    f"timed out after {timeout:.0f} s pressing {self.menu_key} for a firmware "
                    f"menu showing {label!r}{self.console._tail()}"
                )
            self.console.send_key(self.menu_key)
            self.console.drain(interval)
        self._settle()

    def choose(self, label: str, timeout: float = 30.0) -> None:
        """Move the highlight to the entry labelled `label` and press Enter."""
        deadline = Deadline(timeout)
        while True:
            self._settle()
            place = self.screen.find(label)
            if place is None:
                raise ConsoleError(f"the firmware menu shows no entry {label!r}{self._shown()}")
            row, column = place
            selected = self.screen.highlighted_row(column)
            if selected == row:
                break
            if deadline.expired:
                raise ConsoleTimeout(
                    f"timed out after {timeout:.0f} s moving to the menu entry {label!r}"
                    f"{self._shown()}"
                )
            self.console.send_key("UP" if selected is not None and selected > row else "DOWN")
        log.info("selecting the firmware menu entry %r", label)
        self.console.mark(f"menu: {label}")
        self.screen.cells.clear()
        self.console.send_key("ENTER")

    def _settle(self, quiet: float = 0.3, limit: float = 10.0) -> None:
        """Read until the firmware has drawn nothing for `quiet` seconds."""
        deadline = Deadline(limit)
        while not deadline.expired:
            before = self.console.bytes_read
            self.console.drain(quiet)
            if self.console.bytes_read == before:
                return

    def _shown(self) -> str:
        rows = [self.screen.text(row).strip() for row in sorted(self.screen.cells)]
        shown = [row for row in rows if row]
        return "; the screen shows:\n" + "\n".join(f"  | {row}" for row in shown[:40])


def select_boot_entry(
    console: Console, labels: Sequence[str], menu_key: str = "ESC", timeout: float = 60.0
) -> None:
    """Open the firmware menu with `menu_key` and choose each label in turn.

    `labels` is the path through the menus, such as `["Boot Manager", "EFI
    Internal Shell"]` for edk2's front page, or one label for a boot menu key
    that opens the boot manager directly. Marks `boot-entry` in the capture.
    """
    if not labels:
        raise TargetError("boot.entry is empty: give the label of a boot manager entry")
    menu = FirmwareMenu(console, menu_key)
    menu.open(labels[0], timeout)
    for label in labels:
        menu.choose(label, timeout)
    console.mark("boot-entry")


# --- Linux shell ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShellResult:
    """A Linux command's output (lines joined with "\\n") and its exit status."""

    output: str
    status: int

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class Credentials:
    """A login for a Linux console. The password is never logged or captured."""

    user: str | None = None
    password: str | None = None

    @classmethod
    def from_target(cls, credentials: dict[str, str], source: str = "target") -> Credentials:
        """Read `user` and `password` or `password_env` (an environment variable name)."""
        password = credentials.get("password")
        variable = credentials.get("password_env")
        if password is None and variable:
            password = os.environ.get(variable)
            if password is None:
                raise TargetError(
                    f"{source}: credentials.password_env names the environment variable "
                    f"{variable}, which is not set; export it before running armcheck"
                )
        return cls(credentials.get("user"), password)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password={'***' if self.password else None})"


class LinuxShell:
    """A Linux shell on a console: log in, set a reliable prompt, run commands.

    After `reach`, the shell has the prompt READY_PROMPT, terminal echo off
    (`stty -echo`), TERM=dumb so busybox and bash print no line-editing
    sequences, and console kernel messages limited to emergencies (`dmesg -n 1`).
    """

    def __init__(
        self,
        console: Console,
        credentials: Credentials | None = None,
        prompt: str | None = None,
        login_prompt: str | None = None,
        password_prompt: str | None = None,
    ) -> None:
        self.console = console
        self.credentials = credentials or Credentials()
        self.prompt = prompt or LINUX_PROMPT
        self.login_prompt = login_prompt or LOGIN_PROMPT
        self.password_prompt = password_prompt or PASSWORD_PROMPT
        self.recorder = line_recorder(console)
        self._counter = itertools.count(1)

    def reach(self, timeout: float = 120.0) -> None:
        """Wait for a login or shell prompt, log in when asked, then set the ready prompt.

        Marks `linux-shell` in the capture once the ready prompt answers.
        """
        deadline = Deadline(timeout)
        logins = 0
        while True:
            try:
                match = self.console.expect(
                    [self.prompt, self.login_prompt, self.password_prompt, ACTIVATE_CONSOLE],
                    deadline.remaining(),
                    what="a Linux shell or login prompt",
                )
            except ConsoleTimeout as err:
                raise ConsoleTimeout(
                    f"{err}\nIf the board shows a prompt above that armcheck did not recognise, "
                    f"set prompts.linux_shell (default {self.prompt!r}) or prompts.login "
                    f"(default {self.login_prompt!r}) in the target file"
                ) from err
            if match.index == 0:
                break
            if match.index == 3:
                self.console.send_key("ENTER")
            elif match.index == 1:
                logins += 1
                if logins > 3:
                    raise ConsoleError("the Linux login failed three times; check the credentials")
                if not self.credentials.user:
                    raise TargetError(
                        "the Linux console asks for a login but the target has no "
                        "credentials.user; add credentials to the target file"
                    )
                self.console.sendline(self.credentials.user)
            else:
                if self.credentials.password is None:
                    raise TargetError(
                        "the Linux console asks for a password but the target has no "
                        "credentials.password or credentials.password_env"
                    )
                self.console.sendline(self.credentials.password, secret=True)
        self._configure(deadline.remaining())
        self.console.mark("linux-shell")

    def _configure(self, timeout: float) -> None:
        ready = READY_PROMPT[:8] + "''" + READY_PROMPT[8:]
        line = (
            f"stty -echo 2>/dev/null; dmesg -n 1 2>/dev/null; export TERM=dumb PS2='' PS1='{ready}'"
        )
        deadline = Deadline(timeout)
        while True:
            self.console.sendline(line)
            wait = min(CONFIGURE_RETRY, deadline.remaining())
            try:
                self.console.expect(re.escape(READY_PROMPT), wait, what="the armcheck shell prompt")
                return
            except ConsoleTimeout:
                if deadline.remaining() <= 0:
                    raise
                log.info("no armcheck shell prompt after %.0f s; sending the set-up again", wait)

    def run(self, command: str, timeout: float = 30.0, strip_printk: bool = True) -> ShellResult:
        """Run one command line and return its output and exit status.

        Kernel messages that interleave with the output (lines starting with a
        printk timestamp) are removed unless `strip_printk` is False, as it
        must be for `dmesg` itself. A command line the shell cannot parse
        returns status 2 with the shell's message as output.
        """
        number = next(self._counter)
        begin = f"{OUTPUT_BEGIN}{number}"
        end = f"{OUTPUT_END}{number}_"
        start = self.recorder.position()
        deadline = Deadline(timeout)
        self.console.sendline(
            f"echo {begin[:8]}''{begin[8:]}; {command}; echo {end[:8]}''{end[8:]}$?"
        )
        try:
            match = self.console.expect(
                [rf"{end}(\d+)\r?\n", re.escape(READY_PROMPT)],
                deadline.remaining(),
                what=f"the end of {command!r}",
            )
        except ConsoleTimeout:
            self._interrupt()
            raise
        parsed = match.index == 0
        status = int(match.groups[0] or 0) if parsed else 2
        if parsed:
            self.console.expect(
                re.escape(READY_PROMPT), deadline.remaining(), what="the armcheck shell prompt"
            )
        lines = [line.text for line in self.recorder.since(start)]
        output = _between_markers(lines, begin, end if parsed else None)
        if strip_printk:
            output = _strip_printk(output)
        return ShellResult("\n".join(output), status)

    def _interrupt(self, timeout: float = 5.0) -> None:
        """Interrupt a command that timed out and wait for the prompt that follows.

        Ctrl-C also ends a shell waiting for a closing quote. Reading the new
        prompt keeps it from ending the next command's wait early.
        """
        self.console.send_key("CTRL-C")
        try:
            self.console.expect(re.escape(READY_PROMPT), timeout, what="the prompt after Ctrl-C")
        except ConsoleTimeout:
            log.warning("no shell prompt %.0f s after Ctrl-C; the next command may fail", timeout)

    def power_off(self, timeout: float = 30.0) -> None:
        """Send `poweroff -f` and wait for the console to close, as it does when qemu exits.

        Raise ConsoleTimeout when the console is still open after `timeout` seconds.
        """
        self.console.mark("power-off")
        self.console.sendline("poweroff -f")
        try:
            self.console.drain(timeout)
        except ConsoleClosed:
            log.info("the console closed after poweroff")
            return
        raise ConsoleTimeout(f"the console was still open {timeout:.0f} s after poweroff -f")


def _between_markers(lines: list[str], begin: str, end: str | None) -> list[str]:
    """Return the lines after the `begin` marker line and before the `end` marker."""
    start = 0
    for index, line in enumerate(lines):
        if line.endswith(begin):
            start = index + 1
            break
    output: list[str] = []
    for line in lines[start:]:
        if end is not None and end in line:
            head = line[: line.index(end)]
            if head:
                output.append(head)
            break
        if end is None and READY_PROMPT in line:
            break
        output.append(line)
    return output


def _strip_printk(lines: list[str]) -> list[str]:
    """Remove kernel messages that interleave with command output.

    A message at the start of a line is dropped whole. A message that started
    in the middle of an output line cut that line in two: the message is
    removed and the two halves are joined again.
    """
    kept: list[str] = []
    carry = ""
    for line in lines:
        found = PRINTK_LINE.search(line)
        if found is None:
            kept.append(carry + line)
            carry = ""
        elif found.start() == 0:
            continue
        else:
            carry += line[: found.start()]
    if carry:
        kept.append(carry)
    return kept
