"""Verdicts from facts: the one path shared by `armcheck run` and `armcheck check`.

A capture of `armcheck run` records how far the run got (armcheck.session).
Both commands build the check context from it, so checking a saved capture
later gives exactly the verdicts of the live run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from armcheck.capture import is_capture, read_capture_header
from armcheck.checks import CheckContext, context_from_facts, run_checks
from armcheck.errors import EXIT_INCOMPLETE, InputFormatError
from armcheck.facts import Facts
from armcheck.profiles import Profile
from armcheck.reports.json_report import write_json
from armcheck.reports.junit import write_junit
from armcheck.results import CheckResult, exit_status
from armcheck.session import LINUX, LINUX_SHELL, RunState, read_run_state
from armcheck.streams import display_name

log = logging.getLogger(__name__)


def run_state_of(paths: Sequence[str | os.PathLike[str]]) -> RunState:
    """Return the run state of the first capture of a live run among `paths`."""
    for path in paths:
        if os.path.isfile(path) and is_capture(path):
            state = read_run_state(path)
            if state.live:
                return state
    return RunState()


def capture_target(paths: Sequence[str | os.PathLike[str]]) -> str | None:
    """Return the target named in the header of the first capture among `paths`."""
    for path in paths:
        if os.path.isfile(path) and is_capture(path):
            header = read_capture_header(path)
            if header.target:
                return header.target
    return None


def capture_profile(paths: Sequence[str | os.PathLike[str]]) -> str | None:
    """Return the profile that `armcheck run` recorded in the first capture among `paths`."""
    for path in paths:
        if os.path.isfile(path) and is_capture(path):
            profile = read_capture_header(path).extra.get("profile")
            if isinstance(profile, str) and profile:
                return profile
    return None


def decide(
    facts: Facts, profile: Any, state: RunState, target: str
) -> tuple[list[CheckResult], CheckContext]:
    """Run the profile's checks on `facts` in the context the run state gives."""
    # The checks count the Linux shell as part of the `linux` stage. A table
    # that did not arrive intact from Linux is a failed collection there too.
    failed = {
        (LINUX if stage == LINUX_SHELL else stage): list(problems)
        for stage, problems in state.collection_failures.items()
    }
    for observation in facts.all("collect.transfer_error"):
        log.warning("a table did not arrive intact: %s", observation.value)
        failed.setdefault(LINUX, []).append(f"transfer error: {observation.value}")
    # A stage left out on purpose counts as reached: its checks are skipped for
    # want of evidence, not errors of a run that broke down.
    context = context_from_facts(
        facts,
        live=state.live,
        reached=[*state.reached, *state.not_planned],
        complete=state.complete or not state.live,
        target=target,
        failed=failed,
        not_planned=state.not_planned,
    )
    return run_checks(facts, profile, context), context


def verdict_status(results: list[CheckResult], state: RunState, strict: bool = False) -> int:
    """Exit status of a verdict: 3 when the live run ended early, else by the results."""
    if state.live and not state.complete:
        return EXIT_INCOMPLETE
    return exit_status(results, strict)


def read_check_inputs(paths: list[str]) -> Facts:
    """Read the inputs as `armcheck facts` does; a facts JSON document is read back as is."""
    facts = Facts()
    console_inputs: list[str] = []
    for path in paths:
        document = _facts_document(Path(path))
        if document is not None:
            facts.merge(Facts.from_json(document))
        else:
            console_inputs.append(path)
    seen: dict[str, tuple[Any, str]] = {}
    if console_inputs:
        from armcheck.inputs import read_facts

        for path in console_inputs:
            found = read_facts([path])
            _require_evidence(path, found)
            # A folder has many files, which may come from several boots.
            for file, part in _facts_per_file(found, display_name(str(path))):
                _warn_disagreement(part, file, seen)
            facts.merge(found)
    return facts


# Summary keys that one boot of one board shows with a single value.
ONE_BOOT_KEYS = (
    "gic.version",
    "psci.version",
    "uefi.revision",
    "smbios.version",
    "acpi.spcr.interface_type",
    "linux.version",
)


def _facts_per_file(facts: Facts, default: str) -> list[tuple[str, Facts]]:
    """Split `facts` by the file of each observation's evidence, in the order files appear."""
    parts: dict[str, Facts] = {}
    for key, observations in facts.observations.items():
        for observation in observations:
            file = observation.evidence.file or default
            part = parts.setdefault(file, Facts())
            part.observations.setdefault(key, []).append(observation)
    for file, part in parts.items():
        part.inputs = [entry for entry in facts.inputs if entry.get("file") == file]
    return list(parts.items())


def _warn_disagreement(found: Facts, path: str, seen: dict[str, tuple[Any, str]]) -> None:
    """Warn when this input shows another value than an earlier input for a one-boot key.

    `check INPUT...` combines its inputs as one boot; inputs from two boards or
    two firmware builds would mix their facts silently.
    """
    summary = found.summary()
    for key in ONE_BOOT_KEYS:
        value = summary.get(key)
        if value is None:
            continue
        earlier = seen.setdefault(key, (value, path))
        if earlier[0] != value:
            log.warning(
                "the inputs disagree on %s: %r in %s, %r in %s; are they of one boot of one board?",
                key,
                earlier[0],
                earlier[1],
                value,
                path,
            )


def _require_evidence(path: str | os.PathLike[str], facts: Facts) -> None:
    """Reject an input that showed nothing: checking it would pass on no evidence at all.

    A capture is exempt, because a board that printed nothing is a verdict
    (the run's errors), not a wrong file.
    """
    if any(True for _key in facts.keys()):
        return
    if any(entry.get("kind") == "capture" for entry in facts.inputs if isinstance(entry, dict)):
        return
    raise InputFormatError(
        f"{path}: no firmware, UEFI shell, ACPI, SMBIOS or Linux boot evidence found; "
        "expected a console log, an armcheck capture, dmesg output, or ACPI or SMBIOS "
        "table dumps (see `armcheck facts` for what armcheck reads)"
    )


def _facts_document(path: Path) -> dict[str, Any] | None:
    """Return the `armcheck facts --json` document in `path`, or None if it is another kind."""
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputFormatError(f"{path}: not a facts JSON document: {err}") from err
    if not isinstance(document, dict) or not isinstance(document.get("facts"), dict):
        return None
    if "results" in document:
        raise InputFormatError(
            f"{path}: an armcheck report, not the output of `armcheck facts --json`; check the "
            "capture it was made from (capture.cast in the same run folder)"
        )
    for key, observations in document["facts"].items():
        if not isinstance(observations, list) or not all(
            isinstance(item, dict) and isinstance(item.get("evidence", {}), dict)
            for item in observations
        ):
            raise InputFormatError(
                f"{path}: not a facts JSON document: `facts.{key}` is not a list of "
                "observations; give the output of `armcheck facts --json`"
            )
    return document


def run_summary(state: RunState) -> dict[str, Any] | None:
    """Return how far a live run got, for the JSON report; None when no input was a live run."""
    if not state.live:
        return None
    return {
        "reached": state.reached,
        "complete": state.complete,
        "error": state.error,
        "interrupted": state.interrupted,
    }


def report_properties(
    facts: Facts, profile: Profile, target: str, capture: str | None
) -> dict[str, Any]:
    """Return the report properties: target, profile, firmware vendor and version, capture."""
    summary = facts.summary()
    return {
        "target": target,
        "profile": profile.name,
        "firmware.vendor": summary.get("firmware.vendor") or "",
        "firmware.version": summary.get("firmware.version") or "",
        "capture": capture or "",
    }


def write_reports(
    facts: Facts,
    results: list[CheckResult],
    profile: Profile,
    properties: dict[str, Any],
    junit: str | None,
    json_path: str | None,
    run: dict[str, Any] | None = None,
) -> None:
    """Write the JUnit and JSON reports that were requested; `run` records how far a run got."""
    if junit:
        write_junit(results, junit, properties)
    if json_path:
        extra: dict[str, Any] = {"properties": properties, "profile": profile.to_json()}
        if run is not None:
            extra["run"] = run
        write_json(facts, results, json_path, extra)
