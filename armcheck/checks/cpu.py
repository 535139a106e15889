"""CPU checks: PSCI, the GIC and its ITS, and the processing elements (PEs)."""

from __future__ import annotations

from typing import Any

from armcheck.checks import CheckContext, Undecided, failed, not_applicable, passed, register
from armcheck.checks.common import (
    acpi_boot,
    as_int,
    decoded,
    format_version,
    gic_version,
    number_tuple,
    tables_present,
)
from armcheck.facts import ACPI_TABLE, LINUX_LOG, Evidence, Facts
from armcheck.results import CheckResult


@register(
    "cpu.psci_compliant",
    title="FADT declares PSCI",
    rule="The FADT ARM boot flags must set PSCI_COMPLIANT",
    source="Arm SBBR 1.2 (DEN0044), FADT ARM_BOOT_ARCH; FWTS fadt test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.fadt", "psci.version", "boot.method"),
    severity="high",
)
def check_psci_compliant(
    facts: Facts, params: dict[str, Any], context: CheckContext
) -> CheckResult:
    expected = "PSCI_COMPLIANT set"
    fadt = decoded(facts, "acpi.fadt")
    if fadt is not None and fadt.value.get("psci_compliant") is not None:
        if fadt.value["psci_compliant"]:
            return passed("FADT sets PSCI_COMPLIANT", expected, "set", [fadt.evidence])
        return failed("FADT does not set PSCI_COMPLIANT", expected, "clear", [fadt.evidence])

    # On an ACPI boot Linux reads the flag: `psci: is not implemented in ACPI` when it is clear.
    boot = acpi_boot(facts)
    psci = facts.first("psci.version")
    if boot is None or psci is None:
        raise Undecided("the FADT bytes or Linux's `psci:` lines of an ACPI boot")
    if psci.value is None:
        return failed(
            "Linux reports PSCI is not implemented in ACPI", expected, "clear", [psci.evidence]
        )
    return passed(
        f"Linux found PSCI {psci.value} through the FADT",
        expected,
        "set",
        [psci.evidence, boot.evidence],
    )


@register(
    "cpu.psci_version",
    title="PSCI version",
    rule="The firmware must implement PSCI 1.0 or later",
    source="Arm BSA 1.0 (DEN0094), PSCI 1.0 required",
    sources=(LINUX_LOG,),
    facts=("psci.version",),
    defaults={"min_version": "1.0"},
)
def check_psci_version(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    psci = facts.first("psci.version")
    expected = f">= {params['min_version']}"
    if psci is None:
        raise Undecided("Linux's `psci: PSCIvX.Y detected in firmware` line")
    if psci.value is None:
        return failed("PSCI is not implemented", expected, "none", [psci.evidence])
    seen = number_tuple(psci.value)
    minimum = number_tuple(params["min_version"]) or (1, 0)
    if seen is None or seen < minimum:
        return failed(
            f"PSCI {psci.value} is below {params['min_version']}",
            expected,
            str(psci.value),
            [psci.evidence],
        )
    return passed(f"PSCI {format_version(seen)}", expected, str(psci.value), [psci.evidence])


@register(
    "cpu.gic_version",
    title="GIC version",
    rule="The interrupt controller must be at least the GIC version the profile names "
    "(BSA: GICv2 or later; SBSA level 3: GICv3 or later)",
    source="Arm BSA 1.0 (DEN0094), GIC; Arm SBSA 7.1 (DEN0029) level 3",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("gic.version", "acpi.madt"),
    defaults={"min_version": 2},
    severity="high",
)
def check_gic_version(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    found = gic_version(facts)
    minimum = int(params["min_version"])
    expected = f"GICv{minimum} or later"
    if found is None:
        raise Undecided("Linux's GIC lines or the MADT GIC distributor")
    version, evidence = found
    if version < minimum:
        return failed(f"GICv{version} is below GICv{minimum}", expected, f"GICv{version}", evidence)
    return passed(f"GICv{version}", expected, f"GICv{version}", evidence)


def pcie_evidence(facts: Facts) -> list[Evidence]:
    """Return evidence that the platform has PCIe (MCFG, ECAM lines, PCI devices), or []."""
    found = tables_present(facts).get("MCFG", [])
    for key in ("pcie.ecam", "pci.devices"):
        found += [obs.evidence for obs in facts.all(key) if obs.value]
    return found


@register(
    "cpu.its",
    title="GICv3 ITS with PCIe",
    rule="A GICv3 platform with PCIe must provide an ITS for MSIs",
    source="Arm BSA 1.0 (DEN0094), PCIe MSI through an ITS",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("gic.its", "acpi.madt", "gic.version", "pcie.ecam", "acpi.mcfg"),
    level="conditional",
)
def check_its(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    found = gic_version(facts)
    if found is None:
        raise Undecided("the GIC version")
    version, gic_evidence = found
    if version < 3:
        return not_applicable(f"GICv{version} has no ITS", gic_evidence)
    pcie = pcie_evidence(facts)
    if not pcie:
        raise Undecided("evidence of PCIe (MCFG, ECAM lines or a PCI device list)")
    madt = decoded(facts, "acpi.madt")
    count = as_int(madt.value.get("its")) if madt is not None else None
    evidence = [madt.evidence] if madt is not None and count is not None else []
    if count is None:
        its = facts.first("gic.its")
        if its is None:
            raise Undecided("the MADT or Linux's ITS lines")
        count, evidence = as_int(its.value), [its.evidence]
    if count:
        return passed(
            f"{count} ITS with GICv{version} and PCIe",
            "an ITS",
            f"{count} ITS",
            evidence + pcie[:1],
        )
    return failed(f"GICv{version} with PCIe but no ITS", "an ITS", "none", evidence + pcie[:1])


@register(
    "cpu.pes_online",
    title="All PEs came online",
    rule="Every enabled GICC in the MADT must come online in the OS",
    source="Arm BSA 1.0 (DEN0094), PE requirements; Linux SMP bring-up",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.madt", "cpu.online"),
)
def check_pes_online(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    online = facts.first("cpu.online")
    if online is None or as_int(online.value) is None:
        raise Undecided("Linux's `SMP: Total of N processors activated` line")
    madt = decoded(facts, "acpi.madt")
    if madt is None or not isinstance(madt.value.get("gicc"), list):
        raise Undecided("the MADT GICC entries")
    enabled = sum(1 for gicc in madt.value["gicc"] if gicc.get("enabled", True))
    count = as_int(online.value) or 0
    evidence = [madt.evidence, online.evidence]
    expected = f"{enabled} PEs online"
    if count < enabled:
        return failed(
            f"{count} of {enabled} PEs came online", expected, f"{count} online", evidence
        )
    return passed(f"all {enabled} PEs came online", expected, f"{count} online", evidence)
