"""Command-line options that several commands share."""

from __future__ import annotations

import click

DEFAULT_BAUD = 115200

baud_option = click.option(
    "--baud",
    type=click.IntRange(min=1),
    default=DEFAULT_BAUD,
    show_default=True,
    help="Line speed in bits per second, for a serial device path or URL given as TARGET.",
)
