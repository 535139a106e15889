"""SMBIOS checks: the 64-bit 3.x entry point and the structure types SBBR requires.

Arm SBBR 1.2 (DEN0044) requires SMBIOS 3.0 or later through the 64-bit entry
point, and lists the required and recommended structure types checked here.
"""

from __future__ import annotations

import re
from typing import Any

from armcheck.checks import (
    CheckContext,
    Undecided,
    error,
    failed,
    passed,
    register,
    warning,
)
from armcheck.checks.common import as_int, number_tuple
from armcheck.facts import BANNER, SMBIOS_TABLE, UEFI_SHELL, Facts
from armcheck.results import CheckResult

REQUIRED_TYPES = [0, 1, 3, 4, 7, 16, 17, 19, 32]
RECOMMENDED_TYPES = [2, 8, 11, 13, 15, 41]


@register(
    "smbios.entry_point",
    title="SMBIOS 3.x 64-bit entry point",
    rule="SMBIOS must be version 3.0 or later, published through the 64-bit entry point",
    source="Arm SBBR 1.2 (DEN0044), SMBIOS requirements; FWTS dmicheck test",
    sources=(SMBIOS_TABLE, UEFI_SHELL, "linux-log"),
    facts=("smbios.entry_point", "smbios.version"),
)
def check_entry_point(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    version = facts.first("smbios.version")
    entry = facts.first("smbios.entry_point")
    expected = "64-bit entry point, version >= 3.0"
    if version is None and entry is None:
        raise Undecided("SMBIOS output (dmidecode, smbiosview or Linux's `SMBIOS x.y present`)")
    evidence = [obs.evidence for obs in (entry, version) if obs is not None]
    if version is not None and version.value is None:
        return failed("no SMBIOS tables", expected, "not present", evidence)
    parts = number_tuple(version.value) if version is not None else None
    entry_text = entry.value if entry is not None else "entry point not shown"
    seen = f"{entry_text}, version {version.value if version is not None else 'not shown'}"
    if entry is not None and entry.value != "64-bit":
        return failed(f"SMBIOS uses the {entry.value} entry point", expected, seen, evidence)
    if version is None or parts is None:
        raise Undecided("the SMBIOS version")
    if parts[0] < 3:
        return failed(f"SMBIOS {version.value} is older than 3.0", expected, seen, evidence)
    return passed(f"SMBIOS {version.value}", expected, seen, evidence)


def _incomplete_types(facts: Facts, expected: str) -> CheckResult:
    """Return an ERROR that names why the structure list is incomplete.

    The types of a cut or filtered table show what is present but not what is
    missing, so they can neither pass nor fail the check. Raise Undecided when
    no structure list was read at all.
    """
    partial = facts.first("smbios.partial_types")
    if partial is None or not isinstance(partial.value, dict):
        raise Undecided("the SMBIOS structure list (dmidecode or smbiosview output)")
    problems = "; ".join(str(problem) for problem in partial.value.get("problems") or [])
    types = " ".join(str(kind) for kind in partial.value.get("types") or [])
    return error(
        f"not decided: the SMBIOS structure table is incomplete ({problems})",
        expected,
        f"types {types} from an incomplete table" if types else "no structures",
        [partial.evidence],
    )


@register(
    "smbios.required_types",
    title="Required SMBIOS structures",
    rule="SMBIOS must contain structure types 0, 1, 3, 4, 7, 16, 17, 19 and 32",
    source="Arm SBBR 1.2 (DEN0044), required SMBIOS structures; FWTS dmicheck test",
    sources=(SMBIOS_TABLE, UEFI_SHELL),
    facts=("smbios.types", "smbios.partial_types"),
    defaults={"types": REQUIRED_TYPES},
)
def check_required(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    return _check_types(facts, params["types"], "required")


@register(
    "smbios.recommended_types",
    title="Recommended SMBIOS structures",
    rule="SMBIOS should contain structure types 2, 8, 11, 13, 15 and 41",
    source="Arm SBBR 1.2 (DEN0044), recommended SMBIOS structures",
    sources=(SMBIOS_TABLE, UEFI_SHELL),
    facts=("smbios.types", "smbios.partial_types"),
    defaults={"types": RECOMMENDED_TYPES},
    level="recommended",
    severity="low",
)
def check_recommended(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    return _check_types(facts, params["types"], "recommended")


def _check_types(facts: Facts, wanted: list[Any], level: str) -> CheckResult:
    """Compare the SMBIOS structure types present with `wanted`; `level` is required or recommended.

    A missing required type fails the check, a missing recommended one warns.
    Only the types of a whole table can show a type missing, so those of an
    incomplete one give an ERROR.
    """
    expected_types = [int(kind) for kind in wanted]
    expected = "types " + " ".join(map(str, expected_types))
    obs = facts.first("smbios.types")
    if obs is None or not isinstance(obs.value, list):
        return _incomplete_types(facts, expected)
    types = [kind for kind in (as_int(item) for item in obs.value) if kind is not None]
    missing = " ".join(str(kind) for kind in expected_types if kind not in types)
    seen = "types " + " ".join(map(str, sorted(types)))
    evidence = [obs.evidence]
    if missing and level == "required":
        return failed(f"missing SMBIOS types {missing}", expected, seen, evidence)
    if missing:
        return warning(f"{level} SMBIOS types missing: {missing}", expected, seen, evidence)
    return passed(f"all {level} SMBIOS types present", expected, seen, evidence)


def _normalise(version: str) -> str:
    return re.sub(r"\s+", " ", version).strip().lower()


@register(
    "smbios.bios_version",
    title="SMBIOS BIOS version matches the banner",
    rule="The SMBIOS type 0 BIOS version must be the version the firmware banner prints",
    source="Arm SBBR 1.2 (DEN0044), type 0 BIOS Information; FWTS dmicheck test",
    sources=(SMBIOS_TABLE, BANNER),
    facts=("smbios.bios", "firmware.version"),
)
def check_bios_version(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    bios = facts.first("smbios.bios")
    if bios is None or not isinstance(bios.value, dict) or not bios.value.get("version"):
        if bios is not None and isinstance(bios.value, dict) and "version" not in bios.value:
            # Only a cut or damaged structure leaves the field out.
            problems = "; ".join(str(problem) for problem in bios.value.get("problems") or [])
            return error(
                f"not decided: the SMBIOS type 0 structure is incomplete ({problems})",
                "the BIOS version of the type 0 structure",
                "no BIOS version",
                [bios.evidence],
            )
        raise Undecided("the SMBIOS type 0 structure")
    banners = [
        obs
        for obs in facts.all("firmware.version")
        if obs.evidence.source in (BANNER, UEFI_SHELL) and obs.value
    ]
    if not banners:
        raise Undecided("the firmware banner with its version")
    table_version = str(bios.value["version"])
    banner = banners[0]
    evidence = [bios.evidence, banner.evidence]
    left, right = _normalise(table_version), _normalise(str(banner.value))
    if left == right or left in right or right in left:
        return passed(
            f"BIOS version {table_version} matches the banner",
            str(banner.value),
            table_version,
            evidence,
        )
    return failed(
        f"SMBIOS BIOS version {table_version!r} differs from the banner's {banner.value!r}",
        str(banner.value),
        table_version,
        evidence,
    )
