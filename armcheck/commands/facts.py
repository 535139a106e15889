"""`armcheck facts`: read captures, logs and tables, print what they reveal."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from armcheck.facts import SUMMARY_KEYS, Facts
from armcheck.inputs import read_facts
from armcheck.streams import spooled_inputs

log = logging.getLogger(__name__)

# Groups of the readable output, by the first part of a fact key.
_GROUPS = (
    ("Firmware", ("firmware.", "tfa.", "uefi.", "pci.")),
    ("ACPI", ("acpi.",)),
    ("SMBIOS", ("smbios.",)),
    (
        "Linux",
        (
            "linux.",
            "boot.",
            "console.",
            "psci.",
            "smccc.",
            "gic.",
            "cpu.",
            "rtc.",
            "watchdog.",
            "pcie.",
        ),
    ),
)
MAX_VALUE_CHARS = 100


@click.command("facts")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print the whole facts document as JSON.")
def facts_command(inputs: tuple[str, ...], as_json: bool) -> None:
    """Read INPUTS (captures, console logs, dmesg, ACPI and SMBIOS tables) and print the facts.

    Each input's kind is detected from its content. `-` or /dev/stdin reads
    standard input. Exit status 2 when an input cannot be read or is of no
    known kind, 3 when a capture is damaged.
    """
    with spooled_inputs(inputs) as paths:
        facts = read_facts(paths)
    if as_json:
        json.dump(facts.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    click.echo(render_text(facts))


def render_text(facts: Facts) -> str:
    """Return the readable report: the summary, then each fact with its evidence."""
    out: list[str] = ["Inputs:"]
    for entry in facts.inputs:
        out.append(f"  {entry['file']} ({entry['kind']}, {entry.get('lines', 0)} lines)")
    out.append("")
    out.append("Summary:")
    summary = facts.summary()
    width = max(len(key) for key in SUMMARY_KEYS)
    for key in SUMMARY_KEYS:
        out.append(f"  {key:<{width}}  {_show(summary[key])}")
    shown: set[str] = set()
    for title, prefixes in _GROUPS:
        keys = [key for key in facts.keys() if key.startswith(prefixes) and key not in shown]
        if keys:
            out.append("")
            out.append(f"{title}:")
            out.extend(_fact_lines(facts, keys))
            shown.update(keys)
    rest = [key for key in facts.keys() if key not in shown]
    if rest:
        out.append("")
        out.append("Other:")
        out.extend(_fact_lines(facts, rest))
    return "\n".join(out)


def _fact_lines(facts: Facts, keys: list[str]) -> list[str]:
    lines = []
    for key in keys:
        for obs in facts.all(key):
            lines.append(f"  {key} = {_show(obs.value)}    [{obs.evidence.where()}]")
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 3] + "..."
    return text


COMMANDS = [facts_command]
