"""The `armcheck` command line: argument handling only, the work is in the layers below.

Each file in armcheck/commands/ defines the click commands of one area in a
list named `COMMANDS`; this module gathers them into one group.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from armcheck import __version__
from armcheck.errors import EXIT_INTERRUPTED, ArmcheckError

COMMAND_MODULES = ("capture", "targets", "facts", "check", "run", "timing")


class ArmcheckGroup(click.Group):
    """A click group that turns ArmcheckError into a one-line message and its exit status."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ArmcheckError as err:
            click.echo(f"armcheck: error: {err}", err=True)
            sys.exit(err.exit_status)
        except KeyboardInterrupt:
            click.echo("armcheck: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=ArmcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="armcheck")
@click.option("-v", "--verbose", count=True, help="More log output: -v for INFO, -vv for DEBUG.")
def main(verbose: int) -> None:
    """Qualify ARM64 server firmware from its console."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    _module = importlib.import_module(f"armcheck.commands.{_name}")
    for _command in getattr(_module, "COMMANDS", []):
        main.add_command(_command)
