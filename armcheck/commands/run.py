"""`armcheck run`: power on a target, collect the evidence, check it, write the reports."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from armcheck import session
from armcheck.commands.options import baud_option
from armcheck.run import RunRequest, execute


@click.command("run")
@click.argument("target", required=False)
@baud_option
@click.option("-p", "--profile", help="Profile name or YAML file (default: the target's own).")
@click.option(
    "--capture",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Capture file (default: capture.cast in the run folder).",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JUnit XML report (default: junit.xml in the run folder).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON report (default: report.json in the run folder).",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the capture and reports (default: runs/DATE-TARGET).",
)
@click.option("--kernel", help="qemu targets: a Linux kernel (EFI stub image) to boot.")
@click.option("--initrd", help="qemu targets: the initramfs for --kernel.")
@click.option("--append", help="qemu targets: the kernel command line for --kernel.")
@click.option("--disk", help="qemu targets: a disk image to attach.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Limit for the whole run, in seconds (default: the target's timeouts.total, "
    "if any; stages have their own limits too).",
)
@click.option("--no-linux", is_flag=True, help="Stop after the UEFI shell collection.")
@click.option("--strict", is_flag=True, help="Count warnings as failures in the exit status.")
@click.option("--quiet", is_flag=True, help="No stage line and no verdict table.")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log the run: -v for stages and commands (INFO), -vv for every console step.",
)
def run_command(
    target: str | None,
    baud: int,
    profile: str | None,
    capture: Path | None,
    junit: Path | None,
    json_path: Path | None,
    run_dir: Path | None,
    kernel: str | None,
    initrd: str | None,
    append: str | None,
    disk: str | None,
    timeout: float | None,
    no_linux: bool,
    strict: bool,
    quiet: bool,
    verbose: int,
) -> None:
    """Power on TARGET, drive firmware, UEFI shell and OS, check the evidence, write reports.

    TARGET is a built-in name (default qemu-virt), a YAML target file, a serial
    device or a rfc2217:// or socket:// URL. Exit status: 0 all passed or
    waived, 1 a check failed, 2 bad usage, 3 the run could not be completed,
    130 interrupted.
    """
    from armcheck.reports.terminal import print_terminal

    if verbose:
        logging.getLogger().setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    request = RunRequest(
        target=target,
        baud=baud,
        profile=profile,
        capture=capture,
        junit=junit,
        json=json_path,
        run_dir=run_dir,
        kernel=kernel,
        initrd=initrd,
        append=append,
        disk=disk,
        timeout=timeout,
        linux=not no_linux,
        progress=not quiet,
        strict=strict,
    )
    outcome = execute(request)
    cause = ""
    if outcome.error:
        when = "ended early" if outcome.reached else "could not start"
        cause = f"armcheck: the run {when}: {outcome.error}"
        # The cause (with the last console lines) comes before the verdicts,
        # which then read as its consequences, and its first line after them.
        click.echo(cause, err=True)
    if not quiet:
        click.echo(f"profile: {outcome.profile}")
        print_terminal(outcome.results, sys.stdout)
        if cause:
            # Flushed first: in a CI log both streams share one pipe.
            sys.stdout.flush()
            click.echo(session.first_line(cause), err=True)
    click.echo(f"capture: {outcome.capture}")
    click.echo(f"JUnit:   {outcome.junit}")
    click.echo(f"JSON:    {outcome.json}")
    click.echo(f"reached: {', '.join(outcome.reached) or 'nothing'} in {outcome.seconds:.1f} s")
    sys.exit(outcome.status)


COMMANDS = [run_command]
