"""Watchdog checks: the GTDT and the SBSA generic watchdog.

BSA (Arm DEN0094 1.0) lets a platform omit the generic watchdog, while SBSA
level 3 and above (Arm DEN0029) requires one; BSA ACS skips its watchdog
tests when GTDT describes none, and SBSA ACS rule S_L3WD_01 fails that case.
The parameter `required` carries that difference.
"""

from __future__ import annotations

from typing import Any

from armcheck.checks import (
    CheckContext,
    Undecided,
    failed,
    not_applicable,
    passed,
    register,
)
from armcheck.checks.common import (
    TABLE_LIST,
    acpi_boot,
    as_int,
    decoded,
    linux_booted,
    table_list_evidence,
    tables_present,
)
from armcheck.facts import ACPI_TABLE, LINUX_LOG, Evidence, Facts
from armcheck.results import CheckResult

WATCHDOG_DRIVER = "sbsa-gwdt"


@register(
    "watchdog.gtdt_present",
    title="GTDT present",
    rule="A GTDT must describe the generic timers and watchdogs",
    source="Arm SBBR 1.2 (DEN0044), mandatory ACPI tables; FWTS gtdt test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table", "acpi.gtdt"),
    severity="high",
)
def check_gtdt_present(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    present = tables_present(facts).get("GTDT")
    if present:
        return passed("GTDT present", "GTDT", "GTDT", present[:1])
    listed = table_list_evidence(facts)
    if listed:
        return failed("no GTDT in the ACPI table list", "GTDT", "no GTDT", listed)
    raise Undecided(TABLE_LIST)


def described_watchdogs(facts: Facts) -> tuple[int | None, list[Evidence], list[str]]:
    """Return the number of valid non-secure SBSA watchdogs, the evidence and the problems.

    The count is None when the inputs cannot tell. A decoded GTDT is the
    direct source. Linux's `ACPI GTDT: found N SBSA generic Watchdog(s)` line
    counts too. drivers/acpi/arm64/gtdt.c prints it only when N > 0, so an
    ACPI boot that reached user space without it describes none.
    """
    table = decoded(facts, "acpi.gtdt")
    if table is not None and isinstance(table.value.get("watchdogs"), list):
        problems: list[str] = []
        valid = 0
        for index, watchdog in enumerate(table.value["watchdogs"]):
            missing = [
                name
                for name in ("refresh_frame", "control_frame", "gsiv")
                if not as_int(watchdog.get(name))
            ]
            if watchdog.get("secure"):
                problems.append(f"watchdog {index} is secure")
            elif missing:
                problems.append(f"watchdog {index} has zero {', '.join(missing)}")
            else:
                valid += 1
        return valid, [table.evidence], problems

    count = facts.first("acpi.gtdt.watchdog_count")
    if count is not None and as_int(count.value) is not None:
        return as_int(count.value), [count.evidence], []
    boot = acpi_boot(facts)
    booted = linux_booted(facts)
    if boot is not None and booted and "GTDT" in tables_present(facts):
        return 0, [boot.evidence, booted[0]], []
    return None, [], []


@register(
    "watchdog.sbsa_generic",
    title="SBSA generic watchdog described",
    rule="GTDT must describe a non-secure SBSA generic watchdog with refresh and control "
    "frames and a GSIV",
    source="Arm SBSA 7.1 (DEN0029) level 3; SBSA ACS S_L3WD_01; FWTS gtdt test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.gtdt", "acpi.gtdt.watchdog_count"),
    defaults={"required": False},
    severity="high",
)
def check_sbsa_generic(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    count, evidence, problems = described_watchdogs(facts)
    expected = "a non-secure SBSA generic watchdog with non-zero frames and GSIV"
    if count is None:
        raise Undecided("the GTDT bytes or an ACPI Linux boot log that reaches user space")
    if problems:
        return failed(
            "GTDT watchdog invalid: " + "; ".join(problems), expected, "; ".join(problems), evidence
        )
    if count > 0:
        return passed(
            f"GTDT describes {count} SBSA generic watchdog(s)",
            expected,
            f"{count} watchdog(s)",
            evidence,
        )
    if params.get("required"):
        return failed("no SBSA generic watchdog in GTDT", expected, "no watchdog", evidence)
    return not_applicable(
        "GTDT describes no SBSA generic watchdog, which this profile allows", evidence
    )


@register(
    "watchdog.os_driver",
    title="OS watchdog driver bound",
    rule="The OS must bind the sbsa-gwdt driver to the generic watchdog",
    source="Arm SBSA 7.1 (DEN0029); Linux drivers/watchdog/sbsa_gwdt.c",
    sources=(LINUX_LOG,),
    facts=("watchdog.driver", "acpi.gtdt", "acpi.gtdt.watchdog_count"),
    defaults={"required": False},
)
def check_os_driver(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = f"{WATCHDOG_DRIVER} bound"
    driver = facts.first("watchdog.driver")
    if driver is not None and driver.value == WATCHDOG_DRIVER:
        return passed(
            f"Linux bound {WATCHDOG_DRIVER}", expected, WATCHDOG_DRIVER, [driver.evidence]
        )
    count, evidence, _ = described_watchdogs(facts)
    booted = linux_booted(facts)
    if count == 0 and not params.get("required"):
        return not_applicable("no SBSA generic watchdog is described", evidence)
    if booted:
        seen = str(driver.value) if driver is not None and driver.value else "no driver"
        return failed(
            f"Linux reached user space without {WATCHDOG_DRIVER}", expected, seen, evidence + booted
        )
    raise Undecided("a Linux boot log that reaches user space")
