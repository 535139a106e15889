"""The stages of a live run, each waiting for what ends it.

    firmware -> [boot menu] -> uefi-shell (collect) -> linux -> linux-shell (collect) -> power-off

`BootDriver` moves one console through them. Every wait has a deadline: the
stage's timeout, capped by the run's overall `--timeout`. The console's death
patterns end any wait at the first panic, exception or reset. So each method
either returns with its stage done or raises a ConsoleError.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from armcheck import session
from armcheck.collect import LINUX_COMMANDS, UEFI_SCRIPT, UEFI_SCRIPT_DONE, collect_uefi
from armcheck.console.base import Console
from armcheck.deadline import Deadline
from armcheck.errors import ConsoleTimeout, TargetError
from armcheck.progress import Progress
from armcheck.shells import KERNEL_START, os_start_line
from armcheck.targets import QEMU, Target

log = logging.getLogger(__name__)

# Stage timeouts in seconds; a target file may override them under `timeouts`.
DEFAULT_TIMEOUTS: dict[str, float] = {
    "firmware": 120.0,
    "uefi-shell": 120.0,
    "linux": 300.0,
    "linux-shell": 300.0,
    "power-off": 30.0,
}
# Printed by firmware when it starts, each once per boot. A boot may print
# several (TF-A's BL1, then edk2's), so the reset watch looks for the kind seen
# first: a second one of that kind during the run means the board reset.
FIRMWARE_BANNERS = (
    r"UEFI firmware \(version",
    r"TianoCore \d",
    r"U-Boot \d{4}\.\d{2}",
    r"American Megatrends",
    r"NOTICE:  BL1: ",
)
FIRMWARE_BANNER = "|".join(FIRMWARE_BANNERS)
SHELL_PROMPT = r"Shell> "
# Exit statuses of a POSIX shell for a command it could not find (127) or run (126).
COMMAND_NOT_RUN = (126, 127)
# Countdowns before firmware boots on its own. Waiting them out is the cheapest
# boot time to lose, so the run ends them with a key: Enter takes a boot manager's
# default entry at once, and U-Boot is stopped and sent `boot` right away.
UBOOT_AUTOBOOT = r"Hit any key to stop autoboot: *\d"
UBOOT_PROMPT = r"\n=> $"
BOOT_SELECTION = r"The default boot selection will start in +\d+ +seconds?"


class BootDriver:
    """Drives one console through the stages of a run."""

    def __init__(
        self, console: Console, target: Target, progress: Progress, timeout: float | None
    ) -> None:
        self.console = console
        self.target = target
        self.progress = progress
        self.deadline = Deadline(timeout)
        self.boot: dict[str, Any] = dict(target.boot)
        self.timeouts = dict(DEFAULT_TIMEOUTS)
        for stage, seconds in target.timeouts.items():
            self.timeouts[str(stage)] = float(seconds)
        self.prompt_consumed = False
        # Set by the run before the UEFI stage: whether Linux will be booted after it.
        self.linux_planned = False

    def timeout(self, stage: str) -> float:
        return self.deadline.cap(self.timeouts[stage])

    def command_timeout(self, default: float) -> float:
        """Return a command's limit: the target's `command` timeout, else the command's own."""
        return self.deadline.cap(self.timeouts.get("command", default))

    @property
    def has_uefi_shell(self) -> bool:
        return bool(self.boot.get("uefi_shell", True))

    def firmware(self) -> None:
        """Wait for the firmware banner (or the shell prompt); a second banner then means a reset.

        A board whose firmware prints no banner that armcheck recognises still goes
        on to the next stage once it printed anything. A silent console is an error.
        """
        self.console.mark(session.FIRMWARE)
        self.progress.set_stage(session.FIRMWARE, "waiting for the firmware banner")
        try:
            match = self.console.expect(
                [FIRMWARE_BANNER, SHELL_PROMPT], self.timeout("firmware"), what="a firmware banner"
            )
        except ConsoleTimeout as err:
            if self.console.bytes_read == 0:
                if self.target.kind != QEMU and not self.target.power.get("on"):
                    # armcheck only watches a board without power commands.
                    raise ConsoleTimeout(
                        f"{err}. The target has no power.on command, so armcheck only watches: "
                        "power the board on or reset it after starting armcheck, or add "
                        "power.on to the target file (docs/targets.md)"
                    ) from err
                raise
            log.warning("no known firmware banner in %.0f s; going on", self.timeout("firmware"))
            return
        self.progress.set_detail(match.text.strip()[:60])
        if match.index == 0:
            first = next(
                (banner for banner in FIRMWARE_BANNERS if re.search(banner, match.text)),
                FIRMWARE_BANNER,
            )
            self.console.watch_for_reset(
                first, "the board reset (a second firmware banner appeared)"
            )
        self.prompt_consumed = match.index == 1

    def uefi_shell(self) -> Any:
        """Reach the UEFI shell (through the boot menu if the target names an entry), collect."""
        from armcheck.shells import UefiShell, select_boot_entry

        self.progress.set_stage(session.UEFI_SHELL, "reaching the UEFI shell")
        for key in self.boot.get("uefi_shell_keys", []):
            self.console.send_key(str(key))
        entry = self.boot.get("entry")
        if entry:
            labels = [entry] if isinstance(entry, str) else list(entry)
            self.progress.set_detail(f"choosing {' > '.join(labels)}")
            select_boot_entry(
                self.console, labels, self.boot.get("menu_key", "ESC"), self.timeout("uefi-shell")
            )
        shell = UefiShell(self.console, self.target.prompts.get("uefi_shell"))
        if self.prompt_consumed:
            # The banner wait already took the prompt: an empty line brings a new one.
            self.console.sendline("")
        shell.reach(self.timeout("uefi-shell"))

        def run(command: str, timeout: float) -> str:
            self.progress.set_detail(command)
            self.console.mark(session.command_marker(session.UEFI_SHELL, command))
            return shell.run(command, self.command_timeout(timeout))

        script = getattr(self.console.transport, "uefi_scripts", {}).get(UEFI_SCRIPT)
        run_script = None
        if script:

            def run_script(timeout: float) -> list[str]:
                self.progress.set_detail(script)
                self.console.mark(session.command_marker(session.UEFI_SHELL, script))
                return shell.run_script(script, UEFI_SCRIPT_DONE, self.command_timeout(timeout))

        collection = collect_uefi(
            run,
            on_step=self.progress.set_detail,
            linux_follows=self.linux_planned,
            run_script=run_script,
        )
        for problem in collection.problems:
            log.warning("UEFI shell collection: %s", problem)
        for failure in collection.failures:
            self.console.mark(session.collection_failed_marker(session.UEFI_SHELL, failure))
        return shell

    def linux_command(self) -> str | None:
        """Return the UEFI shell line that starts the OS: the target's, or the qemu guest's."""
        return os_start_line(self.boot, self.console)

    def has_linux(self) -> bool:
        """Tell whether the run can start an OS; print why not when it cannot."""
        if not self.has_uefi_shell or self.linux_command() is not None:
            return True
        if self.target.kind == QEMU and self.target.qemu.get("guest"):
            from armcheck.console.qemu import missing_guest_message

            self.progress.note(f"no Linux stage: {missing_guest_message()}")
        elif self.target.kind == QEMU:
            self.progress.note("no Linux stage: give --kernel and --initrd to boot Linux on qemu")
        else:
            self.progress.note(
                f"no Linux stage: target {self.target.name} has no boot.uefi_shell_command, "
                "the UEFI shell line that starts the OS; write a target file with one "
                "(see docs/targets.md)"
            )
        return False

    def linux(self, shell: Any | None) -> None:
        """Start Linux (from the UEFI shell, or wait for the firmware to), then collect."""
        self.progress.set_stage(session.LINUX, "starting Linux")
        if shell is not None:
            command = self.linux_command()
            if command is None:
                raise TargetError(
                    f"target {self.target.name} does not say how to start an OS from the UEFI "
                    "shell: build the guest (make guest), pass --kernel and --initrd, or set "
                    "boot.uefi_shell_command in the target file"
                )
            shell.start_linux(command, self.timeout("linux"))
        else:
            self.wait_for_kernel()
        self.linux_shell()

    def wait_for_kernel(self) -> None:
        """Wait for firmware to start the kernel by itself, sending keys to end its countdowns."""
        deadline = Deadline(self.timeout("linux"))
        while True:
            match = self.console.expect(
                [*KERNEL_START, UBOOT_AUTOBOOT, BOOT_SELECTION],
                deadline.cap(self.timeouts["linux"]),
                what="the kernel to start",
            )
            pattern = match.pattern
            if pattern == UBOOT_AUTOBOOT:
                self.progress.set_detail("stopping U-Boot's autoboot countdown")
                self.console.send_key("ENTER")
                self.console.expect(UBOOT_PROMPT, deadline.cap(30.0), what="the U-Boot prompt")
                self.console.sendline("boot")
            elif pattern == BOOT_SELECTION:
                self.progress.set_detail("taking the default boot selection now")
                self.console.send_key("ENTER")
            else:
                self.console.mark(session.LINUX)
                return

    def linux_shell(self) -> None:
        from armcheck.shells import Credentials, LinuxShell

        self.progress.set_stage(session.LINUX_SHELL, "waiting for a shell")
        credentials = Credentials.from_target(self.target.credentials, self.target.name)
        linux = LinuxShell(
            self.console,
            credentials,
            prompt=self.target.prompts.get("linux_shell"),
            login_prompt=self.target.prompts.get("login"),
            password_prompt=self.target.prompts.get("password"),
        )
        linux.reach(self.timeout("linux-shell"))
        for command, timeout in LINUX_COMMANDS:
            self.progress.set_detail(command.split(" &&")[0][:60])
            self.console.mark(session.command_marker(session.LINUX_SHELL, command))
            result = linux.run(
                command, self.command_timeout(timeout), strip_printk=command != "dmesg"
            )
            if result.status in COMMAND_NOT_RUN:
                lines = result.output.strip().splitlines()
                # The shell's "not found" line names the tool; else the first line.
                missing = [line for line in lines if "not found" in line]
                reason = (missing or lines or [""])[0].strip()
                problem = f"{command.split(' &&')[0]}: exit status {result.status}"
                problem += f": {reason}" if reason else ""
                log.warning("Linux shell collection: %s", problem)
                self.console.mark(session.collection_failed_marker(session.LINUX_SHELL, problem))

        self.progress.set_stage(session.POWER_OFF)
        if self.target.kind == QEMU:
            linux.power_off(self.timeout("power-off"))
        elif self.target.power.get("off"):
            from armcheck.console.power import power_off

            power_off(self.target, self.console)
