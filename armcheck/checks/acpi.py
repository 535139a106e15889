"""ACPI checks: the table set SBBR requires, checksums, RSDP/XSDT, FADT, IORT, OS errors.

The mandatory sets follow Arm SBBR (DEN0044): 1.0 requires RSDP, XSDT, FADT,
DSDT, MADT, GTDT, DBG2 and SPCR; 1.1 adds MCFG; 1.2 adds PPTT.
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
    warning,
)
from armcheck.checks.common import (
    TABLE_LIST,
    acpi_boot,
    as_int,
    boot_method,
    decoded,
    gic_version,
    linux_booted,
    linux_log_evidence,
    linux_table_list,
    table_list_evidence,
    table_revision,
    tables_present,
)
from armcheck.facts import ACPI_TABLE, LINUX_LOG, Facts
from armcheck.results import CheckResult

SBBR_MANDATORY = {
    "1.0": ["RSDP", "XSDT", "FACP", "DSDT", "APIC", "GTDT", "DBG2", "SPCR"],
    "1.1": ["RSDP", "XSDT", "FACP", "DSDT", "APIC", "GTDT", "DBG2", "SPCR", "MCFG"],
    "1.2": ["RSDP", "XSDT", "FACP", "DSDT", "APIC", "GTDT", "DBG2", "SPCR", "MCFG", "PPTT"],
}
SBBR_RECOMMENDED = ["BERT", "HEST", "IORT", "SRAT", "SLIT", "PCCT", "EINJ", "ERST"]


def mandatory_tables(params: dict[str, Any]) -> list[str]:
    if params.get("tables"):
        return [str(signature).upper() for signature in params["tables"]]
    version = str(params.get("sbbr_version", "1.2"))
    if version not in SBBR_MANDATORY:
        raise ValueError(f"unknown SBBR version {version!r}: use one of {sorted(SBBR_MANDATORY)}")
    return SBBR_MANDATORY[version]


@register(
    "acpi.mandatory_tables",
    title="Mandatory ACPI tables present",
    rule="Every table that the profile's SBBR version makes mandatory must be present",
    source="Arm SBBR 1.0/1.1/1.2 (DEN0044), ACPI required tables",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table", "acpi.rsdp", "acpi.xsdt.entries"),
    defaults={"sbbr_version": "1.2", "tables": None},
    choices={"sbbr_version": tuple(SBBR_MANDATORY)},
    severity="critical",
)
def check_mandatory(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    required = mandatory_tables(params)
    present = tables_present(facts)
    missing = [signature for signature in required if signature not in present]
    expected = " ".join(required)
    seen = " ".join(sorted(present))
    evidence = [items[0] for signature, items in present.items() if signature in required]
    if not missing:
        return passed(f"all {len(required)} mandatory tables present", expected, seen, evidence)
    listed = table_list_evidence(facts)
    if listed is None:
        raise Undecided(f"{TABLE_LIST}; not seen: {' '.join(missing)}")
    # The FADT, not the XSDT, points to the DSDT, so only Linux's table list
    # (which includes the DSDT) shows that it is absent.
    if "DSDT" in missing and not linux_table_list(facts):
        missing.remove("DSDT")
        if not missing:
            raise Undecided("the DSDT (the FADT points to it, and the XSDT walk does not list it)")
    return failed(
        "missing mandatory tables: " + " ".join(missing), expected, seen, listed + evidence[:3]
    )


@register(
    "acpi.recommended_tables",
    title="Recommended ACPI tables present",
    rule="The tables SBBR recommends (error reporting, IORT, NUMA) should be present",
    source="Arm SBBR 1.2 (DEN0044), recommended and conditional tables",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table",),
    defaults={"tables": SBBR_RECOMMENDED},
    level="recommended",
    severity="low",
)
def check_recommended(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    recommended = [str(signature).upper() for signature in params["tables"]]
    present = tables_present(facts)
    missing = [signature for signature in recommended if signature not in present]
    expected = " ".join(recommended)
    seen = " ".join(signature for signature in recommended if signature in present) or "none"
    if not missing:
        return passed(
            "all recommended tables present",
            expected,
            seen,
            [present[signature][0] for signature in recommended],
        )
    listed = table_list_evidence(facts)
    if listed is None:
        raise Undecided(TABLE_LIST)
    return warning("recommended tables missing: " + " ".join(missing), expected, seen, listed)


@register(
    "acpi.checksums",
    title="ACPI table checksums",
    rule="Every ACPI table, and the RSDP in both its checksums, must sum to zero",
    source="ACPI 6.5, 5.2 (table headers); FWTS checksum test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table", "acpi.rsdp", "linux.acpi_warning"),
)
def check_checksums(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = "every checksum correct"
    bad = [
        obs
        for obs in facts.all("acpi.table")
        if isinstance(obs.value, dict) and obs.value.get("checksum_ok") is False
    ]
    bad += [
        obs
        for obs in facts.all("acpi.rsdp")
        if isinstance(obs.value, dict)
        and False in (obs.value.get("checksum_ok"), obs.value.get("extended_checksum_ok"))
    ]
    # ACPICA warns "Incorrect checksum in table [XXXX]" for every table it installs.
    bad += [obs for obs in facts.all("linux.acpi_warning") if "checksum" in str(obs.value).lower()]
    if bad:
        names = ", ".join(_signature(obs.value) for obs in bad)
        return failed(f"bad checksum: {names}", expected, names, [obs.evidence for obs in bad])

    checked = [
        obs
        for obs in facts.all("acpi.table")
        if isinstance(obs.value, dict) and obs.value.get("checksum_ok") is True
    ]
    if checked:
        return passed(
            f"{len(checked)} table checksums correct",
            expected,
            f"{len(checked)} correct",
            [checked[0].evidence],
        )
    boot = acpi_boot(facts)
    if boot is not None and table_list_evidence(facts):
        return passed(
            "Linux installed every table without a checksum warning",
            expected,
            "no checksum warning",
            [boot.evidence],
        )
    raise Undecided("the table bytes or an ACPI Linux boot log")


def _signature(value: Any) -> str:
    if isinstance(value, dict) and value.get("signature"):
        return str(value["signature"])
    if isinstance(value, dict):
        return "RSDP"
    return str(value)


@register(
    "acpi.rsdp",
    title="RSDP 2.0 with an XSDT and no RSDT",
    rule="The RSDP must be revision 2 or later, point to an XSDT, and there must be no RSDT",
    source="Arm SBBR 1.2 (DEN0044), RSDP and XSDT requirements; FWTS rsdp and xsdt tests",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.rsdp", "acpi.rsdt.present", "acpi.table"),
)
def check_rsdp(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    rsdp = decoded(facts, "acpi.rsdp")
    if rsdp is None:
        raise Undecided("the RSDP (a table dump or Linux's `ACPI: RSDP` line)")
    revision = as_int(rsdp.value.get("revision"))
    xsdt = as_int(rsdp.value.get("xsdt_address"))
    rsdt = as_int(rsdp.value.get("rsdt_address"))
    present = tables_present(facts)
    evidence = [rsdp.evidence]
    expected = "revision >= 2, an XSDT, no RSDT"
    seen = f"revision {revision}"
    if revision is None:
        raise Undecided("the RSDP revision")
    if revision < 2:
        return failed(f"RSDP revision {revision} has no XSDT pointer", expected, seen, evidence)
    if xsdt == 0 or (xsdt is None and "XSDT" not in present):
        return failed("RSDP has no XSDT address", expected, seen + ", no XSDT", evidence)
    rsdt_present = facts.first("acpi.rsdt.present")
    if rsdt or "RSDT" in present or (rsdt_present is not None and rsdt_present.value):
        evidence += present.get("RSDT", [])[:1]
        return failed(
            "an RSDT is present next to the XSDT", expected, seen + ", RSDT present", evidence
        )
    return passed(f"RSDP revision {revision} with an XSDT", expected, seen + ", XSDT", evidence)


@register(
    "acpi.xsdt_entries",
    title="No zero XSDT entries",
    rule="Every XSDT entry must point to a table",
    source="ACPI 6.5, 5.2.8 (XSDT); FWTS xsdt test",
    sources=(ACPI_TABLE,),
    facts=("acpi.xsdt.entries",),
)
def check_xsdt_entries(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    entries = facts.first("acpi.xsdt.entries")
    if entries is None or not isinstance(entries.value, list):
        raise Undecided("the XSDT bytes")
    zero = [index for index, address in enumerate(entries.value) if not as_int(address)]
    expected = "no zero entries"
    if zero:
        return failed(
            f"XSDT entries {zero} are zero",
            expected,
            f"{len(zero)} zero entries",
            [entries.evidence],
        )
    return passed(
        f"{len(entries.value)} XSDT entries, none zero",
        expected,
        f"{len(entries.value)} entries",
        [entries.evidence],
    )


@register(
    "acpi.fadt",
    title="FADT 6.0 or later, hardware-reduced",
    rule="The FADT must be revision 6.0 or later with HW_REDUCED_ACPI set",
    source="Arm SBBR 1.2 (DEN0044), FADT requirements; FWTS fadt test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.fadt", "acpi.table", "boot.method"),
    defaults={"min_revision": 6},
)
def check_fadt(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    minimum = int(params["min_revision"])
    expected = f"revision >= {minimum}.0, HW_REDUCED_ACPI set"
    fadt = decoded(facts, "acpi.fadt")
    if fadt is not None and fadt.value.get("revision") is not None:
        revision = as_int(fadt.value["revision"]) or 0
        minor = fadt.value.get("minor_revision") or 0
        seen = f"revision {revision}.{minor}, HW_REDUCED_ACPI {fadt.value.get('hw_reduced')}"
        if revision < minimum:
            return failed(
                f"FADT revision {revision}.{minor} is below {minimum}.0",
                expected,
                seen,
                [fadt.evidence],
            )
        if fadt.value.get("hw_reduced") is False:
            return failed("FADT does not set HW_REDUCED_ACPI", expected, seen, [fadt.evidence])
        if fadt.value.get("hw_reduced") is True:
            return passed(
                f"FADT {revision}.{minor}, hardware-reduced", expected, seen, [fadt.evidence]
            )

    listed = table_revision(facts, "FACP")
    if listed is None:
        raise Undecided("the FADT bytes or Linux's ACPI table list")
    revision = as_int(listed.value["revision"]) or 0
    seen = f"revision {revision}"
    if revision < minimum:
        return failed(
            f"FADT revision {revision} is below {minimum}", expected, seen, [listed.evidence]
        )
    # Linux on arm64 turns ACPI off unless the FADT is hardware-reduced
    # (arch/arm64/kernel/acpi.c), so an ACPI boot shows the flag is set.
    boot = acpi_boot(facts)
    if boot is not None and linux_booted(facts):
        return passed(
            f"FADT revision {revision}; Linux booted with ACPI, so it is hardware-reduced",
            expected,
            seen,
            [listed.evidence, boot.evidence],
        )
    raise Undecided("the FADT flags (table bytes, or an ACPI Linux boot that reaches user space)")


@register(
    "acpi.iort",
    title="IORT present with an ITS or SMMU",
    rule="An IORT must be present when the MADT describes an ITS or the platform has an SMMU",
    source="Arm SBBR 1.2 (DEN0044), IORT conditionally required; FWTS iort test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.madt", "gic.its", "gic.version", "acpi.table"),
    level="conditional",
)
def check_iort(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    madt = decoded(facts, "acpi.madt")
    its_obs = facts.first("gic.its")
    its = None
    evidence = []
    if madt is not None and madt.value.get("its") is not None:
        its, evidence = as_int(madt.value["its"]), [madt.evidence]
    elif its_obs is not None:
        its, evidence = as_int(its_obs.value), [its_obs.evidence]
    gic = gic_version(facts)
    if not its:
        if its == 0:
            return not_applicable("no ITS is described", evidence)
        if gic is not None and gic[0] == 2:
            return not_applicable("GICv2 has no ITS", gic[1])
        raise Undecided("the MADT or Linux's GIC ITS lines")
    present = tables_present(facts).get("IORT")
    if present:
        return passed(f"IORT present for {its} ITS", "IORT", "IORT", evidence + present[:1])
    listed = table_list_evidence(facts)
    if listed is None:
        raise Undecided(TABLE_LIST)
    return failed(f"{its} ITS described but no IORT", "IORT", "no IORT", evidence + listed)


@register(
    "acpi.os_errors",
    title="No ACPI errors in the OS log",
    rule="The OS must interpret the tables without `ACPI Error` or `ACPI BIOS Error`",
    source="FWTS klog test; Linux ACPICA error reporting",
    sources=(LINUX_LOG,),
    facts=("linux.acpi_error", "boot.method"),
)
def check_os_errors(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    errors = facts.all("linux.acpi_error")
    expected = "no ACPI Error lines"
    if errors:
        return failed(
            f"{len(errors)} ACPI error line(s) in the Linux log",
            expected,
            f"{len(errors)} error(s)",
            [obs.evidence for obs in errors],
        )
    method = boot_method(facts)
    if method is not None and method.value == "devicetree":
        return not_applicable("Linux booted with a device tree", [method.evidence])
    boot = acpi_boot(facts)
    if boot is None:
        raise Undecided("an ACPI Linux boot log")
    return passed(
        "no ACPI errors in the Linux log",
        expected,
        "none",
        linux_log_evidence(facts) or [boot.evidence],
    )
