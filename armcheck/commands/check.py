"""Commands: `armcheck check` (verdicts from saved inputs) and `armcheck profiles`."""

from __future__ import annotations

import json
import logging
import sys

import click
import yaml

from armcheck.checks import CATALOGUE, ordered_ids
from armcheck.profiles import builtin_profiles, load_profile
from armcheck.reports import print_terminal
from armcheck.streams import spooled_inputs
from armcheck.verdict import (
    capture_profile,
    capture_target,
    decide,
    read_check_inputs,
    report_properties,
    run_state_of,
    run_summary,
    verdict_status,
    write_reports,
)

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "sbbr"


@click.command("check")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True))
@click.option(
    "--profile",
    "profile_name",
    default=None,
    help="Profile name (see `armcheck profiles`) or path of a profile YAML file; default: "
    f"the profile an `armcheck run` capture records, else {DEFAULT_PROFILE}.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False),
    help="Write a JUnit XML report to this file.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    help="Write the facts and every result as JSON to this file.",
)
@click.option("--strict", is_flag=True, help="Count warnings as failures in the exit status.")
@click.option(
    "--target",
    "target_name",
    default=None,
    help="Target name for the reports (JUnit classname armcheck.TARGET.AREA); default: the "
    "target a capture names, else local.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the terminal report (default: only on a terminal).",
)
def check_command(
    inputs: tuple[str, ...],
    profile_name: str | None,
    junit_path: str | None,
    json_path: str | None,
    strict: bool,
    target_name: str | None,
    color: bool | None,
) -> None:
    """Check saved console logs, captures or table dumps against a compliance profile.

    Exit status: 0 all passed or waived, 1 a check failed, 2 bad usage,
    profile or input, 3 a check could not be decided or the recorded run
    ended early. A capture of `armcheck run` gives the verdicts of that run.
    """
    with spooled_inputs(inputs) as paths:
        profile_name = profile_name or capture_profile(paths) or DEFAULT_PROFILE
        profile = load_profile(profile_name)
        facts = read_check_inputs(paths)
        state = run_state_of(paths)
        target_name = target_name or capture_target(paths) or "local"
    results, _context = decide(facts, profile, state, target_name)

    captures = [
        entry.get("file")
        for entry in facts.inputs
        if isinstance(entry, dict) and entry.get("kind") == "capture"
    ]
    properties = report_properties(
        facts, profile, target_name, str(captures[0]) if captures else ",".join(inputs)
    )
    click.echo(f"profile: {profile.name}")
    print_terminal(results, sys.stdout, color)
    write_reports(facts, results, profile, properties, junit_path, json_path, run_summary(state))
    if state.live and not state.complete:
        if state.interrupted:
            cause = "interrupted (Ctrl-C)"
        elif state.error:
            cause = state.error
        else:
            cause = (
                "the capture ends before the run's `complete` marker "
                "(the run was killed, or the file was cut short)"
            )
        click.echo(f"armcheck: the recorded run ended early: {cause}", err=True)
    sys.exit(verdict_status(results, state, strict))


@click.command("profiles")
@click.argument("name", required=False)
@click.option(
    "--checks",
    "list_checks",
    is_flag=True,
    help="List every check id in the catalogue with its rule and source.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def profiles_command(name: str | None, list_checks: bool, as_json: bool) -> None:
    """List the profiles, or show one resolved with its checks, parameters and waivers."""
    if list_checks:
        _print_catalogue(as_json)
        return
    if name is None:
        profiles = [load_profile(item) for item in builtin_profiles()]
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {"name": p.name, "title": p.title, "spec": p.spec, "extends": p.extends}
                        for p in profiles
                    ],
                    indent=2,
                )
            )
            return
        width = max(len(profile.name) for profile in profiles)
        for profile in profiles:
            extends = f" (extends {', '.join(profile.extends)})" if profile.extends else ""
            click.echo(f"{profile.name:<{width}}  {profile.title}{extends}")
        return

    profile = load_profile(name)
    document = profile.to_json()
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(yaml.safe_dump(document, sort_keys=False, width=100).rstrip())


def _print_catalogue(as_json: bool) -> None:
    checks = [CATALOGUE[check_id] for check_id in ordered_ids(CATALOGUE)]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": c.check_id,
                        "title": c.title,
                        "rule": c.rule,
                        "source": c.source,
                        "level": c.level,
                        "severity": c.severity,
                        "params": c.defaults,
                        "facts": list(c.fact_keys),
                    }
                    for c in checks
                ],
                indent=2,
                default=str,
            )
        )
        return
    for check in checks:
        click.echo(f"{check.check_id}  {check.title}")
        click.echo(f"    rule: {check.rule}")
        click.echo(f"    source: {check.source}")
        if check.defaults:
            params = ", ".join(f"{key}={value!r}" for key, value in check.defaults.items())
            click.echo(f"    parameters: {params}")


COMMANDS = [check_command, profiles_command]
