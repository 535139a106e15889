"""PCIe checks: the MCFG table and the ECAM regions the OS uses."""

from __future__ import annotations

from typing import Any

from armcheck.checks import CheckContext, Undecided, failed, not_applicable, passed, register
from armcheck.checks.common import acpi_boot, linux_booted, table_list_evidence, tables_present
from armcheck.facts import ACPI_TABLE, LINUX_LOG, Facts
from armcheck.results import CheckResult


@register(
    "pcie.mcfg",
    title="MCFG present with PCIe",
    rule="A platform with PCIe must describe its ECAM in an MCFG table",
    source="Arm SBBR 1.1 (DEN0044), MCFG required; FWTS mcfg test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table", "acpi.mcfg", "pcie.ecam", "pci.devices"),
    level="conditional",
)
def check_mcfg(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    present = tables_present(facts).get("MCFG")
    if present:
        return passed("MCFG present", "MCFG", "MCFG", present[:1])
    pcie = [
        obs.evidence for key in ("pcie.ecam", "pci.devices") for obs in facts.all(key) if obs.value
    ]
    listed = table_list_evidence(facts)
    if pcie and listed:
        return failed(
            "PCIe devices exist but there is no MCFG", "MCFG", "no MCFG", pcie[:1] + listed
        )
    if listed and linux_booted(facts):
        return not_applicable("no MCFG and no PCIe in the Linux log", listed)
    raise Undecided("the ACPI table list and Linux's PCI lines")


@register(
    "pcie.ecam",
    title="OS reports the ECAM regions",
    rule="The OS must map the ECAM regions that MCFG describes",
    source="Arm BSA 1.0 (DEN0094), PCIe ECAM; Linux drivers/acpi/pci_mcfg.c",
    sources=(LINUX_LOG,),
    facts=("pcie.ecam", "acpi.mcfg", "acpi.table"),
    level="conditional",
)
def check_ecam(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    regions = facts.all("pcie.ecam")
    if regions:
        return passed(
            f"Linux reported {len(regions)} ECAM region(s)",
            "ECAM regions",
            str(regions[0].value),
            [obs.evidence for obs in regions],
        )
    mcfg = tables_present(facts).get("MCFG")
    booted = linux_booted(facts)
    if mcfg and booted and acpi_boot(facts) is not None:
        return failed(
            "MCFG is present but Linux reported no ECAM region",
            "ECAM regions",
            "none",
            mcfg[:1] + booted,
        )
    if not mcfg and table_list_evidence(facts) and booted:
        return not_applicable("no MCFG table", table_list_evidence(facts) or [])
    raise Undecided("an ACPI Linux boot log that reaches user space")
