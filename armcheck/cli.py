"""The `armcheck` command line: argument handling only, the work is in the layers below.

Each file in armcheck/commands/ defines the click commands of one area in a
list named `COMMANDS`; this module gathers them into one group. A command's
module is imported only when that command runs (or when help lists them all),
because importing every module took about 0.1 s of each run (CPython 3.11.7,
a 2-core x86-64 VM).
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from armcheck import __version__, interrupts
from armcheck.errors import EXIT_INTERRUPTED, ArmcheckError

COMMAND_MODULES = ("capture", "targets", "facts", "check", "run", "timing")
# The module of armcheck/commands that defines each command. A command missing
# here is still found, after every module has been imported.
COMMAND_MODULE_OF = {
    "capture": "capture",
    "replay": "capture",
    "console": "capture",
    "targets": "targets",
    "facts": "facts",
    "check": "check",
    "profiles": "check",
    "run": "run",
    "time": "timing",
}


class ArmcheckGroup(click.Group):
    """A click group that imports a command's module on first use and turns ArmcheckError
    into a one-line message and its exit status.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in COMMAND_MODULES:
            self._load(name)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULE_OF.get(cmd_name)
        if module is not None:
            self._load(module)
        if cmd_name not in self.commands:
            for name in COMMAND_MODULES:
                self._load(name)
        return super().get_command(ctx, cmd_name)

    def _load(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        module = importlib.import_module(f"armcheck.commands.{module_name}")
        for command in getattr(module, "COMMANDS", []):
            self.add_command(command)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ArmcheckError as err:
            click.echo(f"armcheck: error: {err}", err=True)
            sys.exit(err.exit_status)
        except KeyboardInterrupt:
            interrupts.handled()
            click.echo("armcheck: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=ArmcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="armcheck")
@click.option("-v", "--verbose", count=True, help="More log output: -v for INFO, -vv for DEBUG.")
def main(verbose: int) -> None:
    """Qualify ARM64 server firmware from its console."""
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose > 1:
        level = logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    interrupts.install()
