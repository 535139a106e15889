"""The compliance check catalogue: checks registered by id, and the code that runs them.

A check is a function `(facts, params, context) -> CheckResult` registered
with `@register(...)` under an id `area.name`. Its registration states the
rule it enforces and the source of that rule, the evidence sources that can
decide it and its default parameters. The area modules are imported at the
end of this file so that importing `armcheck.checks` fills the catalogue.

A check that finds no evidence raises `Undecided` naming what it needs.
`run_check` turns that into SKIPPED (offline, or the stage was reached but
did not show it) or ERROR (a live run that never reached a stage that shows
the evidence, or ended early), so a check without evidence never passes.
A check whose evidence is damaged or incomplete (a cut table) returns
`error(...)` naming the problem, so that it neither passes nor fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from armcheck.facts import (
    ACPI_TABLE,
    BANNER,
    LINUX_LOG,
    LINUX_SHELL,
    SMBIOS_TABLE,
    UEFI_SHELL,
    Evidence,
    Facts,
)
from armcheck.results import CheckResult, Status

log = logging.getLogger(__name__)

AREAS = ("uart", "rtc", "watchdog", "acpi", "smbios", "uefi", "cpu", "pcie", "linux")
LEVELS = ("mandatory", "recommended", "conditional")
SEVERITIES = ("critical", "high", "medium", "low")

# Boot stages of a live run, in boot order.
STAGE_FIRMWARE = "firmware"
STAGE_UEFI_SHELL = "uefi-shell"
STAGE_LINUX = "linux"

# The stages whose console output can hold evidence of each source kind. Table
# bytes are dumped from the UEFI shell (`dmem`, `acpiview`) or read in Linux.
SOURCE_STAGES: dict[str, tuple[str, ...]] = {
    BANNER: (STAGE_FIRMWARE,),
    UEFI_SHELL: (STAGE_UEFI_SHELL,),
    ACPI_TABLE: (STAGE_UEFI_SHELL, STAGE_LINUX),
    SMBIOS_TABLE: (STAGE_UEFI_SHELL, STAGE_LINUX),
    LINUX_LOG: (STAGE_LINUX,),
    LINUX_SHELL: (STAGE_LINUX,),
}

CheckFunction = Callable[[Facts, dict[str, Any], "CheckContext"], CheckResult]


class Undecided(Exception):
    """Raised by a check when the inputs contain no evidence that can decide it."""

    def __init__(self, needs: str) -> None:
        super().__init__(needs)
        self.needs = needs


@dataclass(frozen=True)
class CheckContext:
    """The run context the checks see besides the facts.

    `live` is true during `armcheck run` and when checking its capture.
    `reached` is the set of boot stages the run reached, and `complete` is
    false when the run ended early (console lost, timeout, panic), so evidence
    it never showed makes an error. `sources` is the set of evidence source
    kinds that the inputs contained.
    `today` dates waivers, and `host_time` (POSIX seconds) is the host clock
    when the console printed the firmware time, or None if unknown.
    `failed` maps a stage to the first problem of a command that failed there
    during the run (the shell did not find it), as (stage, problem) pairs, and
    `not_planned` names the stages the run left out on purpose.
    """

    live: bool = False
    reached: frozenset[str] = frozenset()
    complete: bool = True
    failed: tuple[tuple[str, str], ...] = ()
    not_planned: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    target: str = ""
    today: date = field(default_factory=date.today)
    host_time: float | None = None

    def has(self, *sources: str) -> bool:
        """Return True when the inputs contained evidence of any of `sources`."""
        return any(source in self.sources for source in sources)


@dataclass(frozen=True)
class Check:
    """One registered check and what it enforces."""

    check_id: str
    title: str
    rule: str
    source: str
    function: CheckFunction
    sources: tuple[str, ...]
    fact_keys: tuple[str, ...]
    defaults: dict[str, Any]
    level: str = "mandatory"
    severity: str = "medium"
    # Parameters that take one of a fixed set of values: name -> the allowed values.
    choices: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @property
    def area(self) -> str:
        return self.check_id.split(".", 1)[0]

    @property
    def stages(self) -> tuple[str, ...]:
        """The boot stages whose output can hold this check's evidence."""
        found: list[str] = []
        for source in self.sources:
            for stage in SOURCE_STAGES.get(source, ()):
                if stage not in found:
                    found.append(stage)
        return tuple(found)


CATALOGUE: dict[str, Check] = {}


def register(
    check_id: str,
    *,
    title: str,
    rule: str,
    source: str,
    sources: Iterable[str],
    facts: Iterable[str],
    defaults: dict[str, Any] | None = None,
    level: str = "mandatory",
    severity: str = "medium",
    choices: dict[str, Iterable[Any]] | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check `check_id`.

    `choices` names the parameters that take one of a fixed set of values, so
    that a profile setting another value is rejected when it is loaded.
    """
    area = check_id.split(".", 1)[0]
    if area not in AREAS or "." not in check_id:
        raise ValueError(f"check id {check_id!r} must be AREA.NAME with AREA one of {AREAS}")
    if check_id in CATALOGUE:
        raise ValueError(f"check id {check_id!r} is registered twice")

    def decorate(function: CheckFunction) -> CheckFunction:
        CATALOGUE[check_id] = Check(
            check_id=check_id,
            title=title,
            rule=rule,
            source=source,
            function=function,
            sources=tuple(sources),
            fact_keys=tuple(facts),
            defaults=dict(defaults or {}),
            level=level,
            severity=severity,
            choices={name: tuple(values) for name, values in (choices or {}).items()},
        )
        return function

    return decorate


def context_from_facts(
    facts: Facts,
    live: bool = False,
    reached: Iterable[str] | None = None,
    complete: bool = True,
    target: str = "",
    today: date | None = None,
    host_time: float | None = None,
    failed: dict[str, list[str]] | None = None,
    not_planned: Iterable[str] = (),
) -> CheckContext:
    """Build a CheckContext whose `sources` are the evidence kinds present in `facts`.

    An input entry may also list its kinds under `sources` (an input that was
    read but yielded no fact of that kind still shows the kind was there).
    """
    sources = {
        obs.evidence.source for key in facts.keys() for obs in facts.all(key) if obs.evidence.source
    }
    for entry in facts.inputs:
        listed = entry.get("sources") if isinstance(entry, dict) else None
        if isinstance(listed, (list, tuple)):
            sources.update(str(item) for item in listed)
    if host_time is None:
        host_time = _input_start_time(facts)
    return CheckContext(
        live=live,
        reached=frozenset(reached or ()),
        complete=complete,
        sources=frozenset(sources),
        target=target,
        today=today or date.today(),
        host_time=host_time,
        failed=tuple(
            (stage, problems[0]) for stage, problems in (failed or {}).items() if problems
        ),
        not_planned=frozenset(not_planned),
    )


def _input_start_time(facts: Facts) -> float | None:
    """Return the host clock (POSIX seconds) at which the first input was recorded, if known.

    The input reader stores a capture's start (armcheck's `started` in its
    header) in the input's entry as `timestamp`.
    """
    for entry in facts.inputs:
        if not isinstance(entry, dict):
            continue
        stamp = entry.get("timestamp")
        if isinstance(stamp, (int, float)):
            return float(stamp)
    return None


def run_check(
    check: Check, facts: Facts, params: dict[str, Any], context: CheckContext
) -> CheckResult:
    """Run one check, turning Undecided into SKIPPED or ERROR and a crash into ERROR."""
    try:
        result = check.function(facts, params, context)
    except Undecided as undecided:
        result = _undecided_result(check, undecided.needs, context)
        if result.status == Status.SKIPPED:
            result = _damaged_table_result(check, facts, undecided.needs) or result
    except Exception as err:  # noqa: BLE001 - one broken check must not hide the others
        log.exception("check %s raised", check.check_id)
        result = CheckResult(
            check.check_id,
            Status.ERROR,
            f"the check itself failed: {type(err).__name__}: {err}",
        )
    result.check_id = check.check_id
    result.evidence = list(dict.fromkeys(result.evidence))
    result.title = result.title or check.title
    result.rule = result.rule or f"{check.rule} ({check.source})"
    return result


# Words of the table problems that mean bytes are missing or misplaced, as
# opposed to a field with a reserved value or a note on how the bytes were read.
# The names checks use for tables whose signature differs from the name.
_TABLE_NAMES = {"APIC": ("APIC", "MADT"), "FACP": ("FACP", "FADT")}
_DAMAGE_WORDS = ("cut", "truncated", "ends before", "ends inside", "shorter than", "invalid length")


def _damaged_table_result(check: Check, facts: Facts, needs: str) -> CheckResult | None:
    """Return an ERROR when a table the check reads is present but damaged, else None.

    A check that found no evidence would skip. But when the table it needs
    was read and is cut short, the evidence is there and cannot decide it.
    """
    from armcheck.acpi import DECODERS

    for signature, (key, _decoder) in DECODERS.items():
        # `needs` names what was missing; the table must be part of it.
        name = next(
            (name for name in _TABLE_NAMES.get(signature, (signature,)) if name in needs), None
        )
        if key not in check.fact_keys or name is None:
            continue
        for observation in facts.all(key):
            problems = (
                observation.value.get("problems") if isinstance(observation.value, dict) else None
            )
            damage = [p for p in problems or () if any(word in p for word in _DAMAGE_WORDS)]
            if damage:
                return CheckResult(
                    check.check_id,
                    Status.ERROR,
                    f"not decided: the {name} table is damaged: {'; '.join(damage)}",
                    expected=needs,
                    seen=f"a damaged {name} table",
                    evidence=[observation.evidence],
                )
    return None


def _undecided_result(check: Check, needs: str, context: CheckContext) -> CheckResult:
    stages = check.stages
    if context.live and stages and not any(stage in context.reached for stage in stages):
        message = f"not decided: the run never reached {' or '.join(stages)}, which shows {needs}"
        return CheckResult(check.check_id, Status.ERROR, message, expected=needs, seen="nothing")
    if context.live and not context.complete:
        message = f"not decided: the run ended early, before it showed {needs}"
        return CheckResult(check.check_id, Status.ERROR, message, expected=needs, seen="nothing")
    failed = dict(context.failed)
    if context.live and stages and any(stage in failed for stage in stages):
        # Each stage of the check that the run went through had a command fail there.
        went_through = [
            stage
            for stage in stages
            if stage in context.reached and stage not in context.not_planned
        ]
        if all(stage in failed for stage in went_through):
            stage = next(stage for stage in stages if stage in failed)
            message = f"not decided: a command failed in the {stage} stage: {failed[stage]}"
            return CheckResult(
                check.check_id, Status.ERROR, message, expected=needs, seen="nothing"
            )
    message = f"skipped: the inputs do not contain {needs}"
    return CheckResult(
        check.check_id,
        Status.SKIPPED,
        message,
        expected=needs,
        seen="nothing",
        reason=f"needs {needs}",
    )


def run_checks(
    facts: Facts, profile: Any, context: CheckContext | None = None
) -> list[CheckResult]:
    """Run every check of `profile` on `facts` and apply its levels and waivers.

    `profile` is an armcheck.profiles.Profile. Results come in catalogue order,
    so they are grouped by area.
    """
    from armcheck.profiles import apply_profile

    if context is None:
        context = context_from_facts(facts)
    results: list[CheckResult] = []
    for check_id in ordered_ids(profile.checks):
        setting = profile.checks[check_id]
        check = CATALOGUE[check_id]
        params = {**check.defaults, **setting.params}
        result = run_check(check, facts, params, context)
        results.append(apply_profile(result, profile, context.today))
        log.debug("check %s: %s", check_id, result.status.value)
    return results


def ordered_ids(check_ids: Iterable[str]) -> list[str]:
    """Return `check_ids` in catalogue order: area by area in AREAS order, then as registered."""
    order = {check_id: index for index, check_id in enumerate(CATALOGUE)}

    def key(check_id: str) -> tuple[int, int]:
        area = check_id.split(".", 1)[0]
        area_index = AREAS.index(area) if area in AREAS else len(AREAS)
        return area_index, order.get(check_id, len(order))

    return sorted(check_ids, key=key)


# Result helpers shared by the area modules.


def passed(message: str, expected: str, seen: str, evidence: Iterable[Evidence]) -> CheckResult:
    return CheckResult("", Status.PASSED, message, expected, seen, list(evidence))


def failed(message: str, expected: str, seen: str, evidence: Iterable[Evidence]) -> CheckResult:
    return CheckResult("", Status.FAILED, message, expected, seen, list(evidence))


def warning(message: str, expected: str, seen: str, evidence: Iterable[Evidence]) -> CheckResult:
    return CheckResult("", Status.WARNING, message, expected, seen, list(evidence))


def error(message: str, expected: str, seen: str, evidence: Iterable[Evidence]) -> CheckResult:
    """Return an ERROR result for a check that the evidence cannot decide, such as a cut table."""
    return CheckResult("", Status.ERROR, message, expected, seen, list(evidence))


def not_applicable(why: str, evidence: Iterable[Evidence] = ()) -> CheckResult:
    return CheckResult(
        "", Status.SKIPPED, f"not applicable: {why}", "", "", list(evidence), reason=why
    )


def evidence_of(facts: Facts, *keys: str) -> list[Evidence]:
    """Return the evidence of every observation of `keys`, in key order."""
    return [obs.evidence for key in keys for obs in facts.all(key)]


def hexa(value: Any) -> str:
    return f"0x{value:02X}" if isinstance(value, int) else str(value)


# Importing the area modules registers their checks.
from armcheck.checks import (  # noqa: E402,F401
    acpi,
    cpu,
    linux,
    pcie,
    rtc,
    smbios,
    uart,
    uefi,
    watchdog,
)
