"""UEFI checks: revision, the ACPI boot through the EFI stub, runtime services."""

from __future__ import annotations

from typing import Any

from armcheck.checks import CheckContext, Undecided, failed, passed, register
from armcheck.checks.common import (
    boot_method,
    linux_booted,
    uefi_revision_tuple,
)
from armcheck.facts import BANNER, LINUX_LOG, UEFI_SHELL, Facts, Observation
from armcheck.results import CheckResult


@register(
    "uefi.revision",
    title="UEFI revision",
    rule="The firmware must implement at least the UEFI revision the profile names",
    source="Arm SBBR 1.2 (DEN0044), UEFI revision",
    sources=(UEFI_SHELL, LINUX_LOG, BANNER),
    facts=("uefi.revision", "linux.efi"),
    defaults={"min_revision": "2.7"},
)
def check_revision(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    minimum = uefi_revision_tuple(params["min_revision"])
    obs = facts.first("uefi.revision")
    efi = facts.first("linux.efi")
    if (obs is None or obs.value is None) and efi is not None and isinstance(efi.value, dict):
        obs = Observation(efi.value.get("revision"), efi.evidence)
    if obs is None or obs.value is None:
        raise Undecided("the UEFI revision (shell banner or Linux's `efi: EFI vX.Y` line)")
    seen = uefi_revision_tuple(obs.value)
    expected = f">= {params['min_revision']}"
    if seen is None or minimum is None:
        return failed(
            f"UEFI revision {obs.value!r} is not a version",
            expected,
            str(obs.value),
            [obs.evidence],
        )
    if seen < minimum:
        return failed(
            f"UEFI revision {obs.value} is below {params['min_revision']}",
            expected,
            str(obs.value),
            [obs.evidence],
        )
    return passed(
        f"UEFI revision {obs.value}, at least {params['min_revision']}",
        expected,
        str(obs.value),
        [obs.evidence],
    )


@register(
    "uefi.acpi_boot",
    title="OS booted through UEFI with ACPI",
    rule="The OS must boot through the EFI stub and use ACPI, not a device tree",
    source="Arm SBBR 1.2 (DEN0044), ACPI-only OS interface; Linux Documentation/arch/arm64/acpi",
    sources=(LINUX_LOG,),
    facts=("boot.method", "linux.efi_stub", "linux.efi"),
)
def check_acpi_boot(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    method = boot_method(facts)
    if method is None:
        raise Undecided("a Linux boot log (ACPI or device-tree lines)")
    expected = "EFI stub boot with ACPI"
    if method.value != "acpi":
        return failed(
            f"Linux booted with {method.value}", expected, str(method.value), [method.evidence]
        )
    stub = facts.first("linux.efi_stub") or facts.first("linux.efi")
    if stub is None or stub.value is False:
        raise Undecided("Linux's EFI lines (`EFI stub: Booting Linux Kernel` or `efi: EFI v`)")
    return passed(
        "Linux booted through UEFI with ACPI",
        expected,
        "acpi via EFI",
        [stub.evidence, method.evidence],
    )


@register(
    "uefi.runtime_services",
    title="UEFI runtime services enabled",
    rule="UEFI runtime services must be available to the OS",
    source="Arm SBBR 1.2 (DEN0044), UEFI runtime services; FWTS uefirtmisc tests",
    sources=(LINUX_LOG,),
    facts=("uefi.runtime_services", "linux.efi", "rtc.driver"),
)
def check_runtime_services(
    facts: Facts, params: dict[str, Any], context: CheckContext
) -> CheckResult:
    expected = "runtime services enabled"
    obs = facts.first("uefi.runtime_services")
    if obs is not None:
        if obs.value:
            return passed("UEFI runtime services enabled", expected, "enabled", [obs.evidence])
        return failed("Linux disabled UEFI runtime services", expected, "disabled", [obs.evidence])
    efi = facts.first("linux.efi")
    booted = linux_booted(facts)
    if efi is not None and booted:
        # Linux prints a line when it disables the runtime services, and none when it keeps them.
        return passed(
            "Linux booted through UEFI without disabling runtime services",
            expected,
            "enabled",
            [efi.evidence, booted[0]],
        )
    raise Undecided("a Linux boot log through UEFI that reaches user space")
