"""RTC checks: the UEFI time service and the OS real-time clock.

SBBR (Arm DEN0044 1.2) requires the UEFI runtime services GetTime and
SetTime on a platform with an RTC, and Linux on ACPI arm64 reads the clock
through them with the `rtc-efi` driver.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from armcheck.checks import CheckContext, Undecided, failed, passed, register, warning
from armcheck.checks.common import acpi_boot, linux_booted
from armcheck.facts import LINUX_LOG, UEFI_SHELL, Facts
from armcheck.results import CheckResult

EFI_RTC_DRIVER = "rtc-efi"


@register(
    "rtc.time_service",
    title="Firmware time service answers",
    rule="The UEFI GetTime runtime service must return the time",
    source="Arm SBBR 1.2 (DEN0044), UEFI runtime services",
    sources=(UEFI_SHELL, LINUX_LOG),
    facts=("uefi.time", "rtc.driver"),
)
def check_time_service(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = "UEFI shell `time` output or Linux `rtc-efi` registration"
    shell_time = facts.first("uefi.time")
    if shell_time is not None:
        if shell_time.value:
            return passed(
                f"UEFI time service returned {shell_time.value}",
                expected,
                str(shell_time.value),
                [shell_time.evidence],
            )
        return failed(
            "UEFI shell `time` returned no time", expected, "an error", [shell_time.evidence]
        )

    driver = facts.first("rtc.driver")
    if driver is not None and driver.value == EFI_RTC_DRIVER:
        return passed(
            "Linux registered the EFI RTC (GetTime answered)",
            expected,
            EFI_RTC_DRIVER,
            [driver.evidence],
        )
    booted = linux_booted(facts)
    boot = acpi_boot(facts)
    if boot is not None and booted:
        seen = str(driver.value) if driver is not None else "no rtc-efi"
        evidence = [boot.evidence] + ([driver.evidence] if driver is not None else booted)
        return failed(
            "Linux booted with ACPI but did not register rtc-efi", expected, seen, evidence
        )
    raise Undecided("UEFI shell `time` output or an ACPI Linux boot log")


@register(
    "rtc.os_driver",
    title="OS RTC driver bound",
    rule="The OS must bind an RTC driver (rtc0)",
    source="Arm BSA 1.0 (DEN0094), RTC; Linux RTC class (rtc0)",
    sources=(LINUX_LOG,),
    facts=("rtc.device", "rtc.driver"),
)
def check_os_driver(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = "an RTC registered as rtc0"
    for key in ("rtc.device", "rtc.driver"):
        obs = facts.first(key)
        if obs is not None and obs.value:
            return passed(f"Linux registered {obs.value}", expected, str(obs.value), [obs.evidence])
    booted = linux_booted(facts)
    if booted:
        return failed("Linux reached user space without an RTC driver", expected, "none", booted)
    raise Undecided("a Linux boot log that reaches user space")


@register(
    "rtc.clock_drift",
    title="Firmware clock close to the host clock",
    rule="The firmware clock should be within max_drift_seconds of the host clock",
    source="Arm BSA 1.0 (DEN0094), RTC; armcheck lab practice",
    sources=(UEFI_SHELL,),
    facts=("uefi.time", "uefi.date"),
    defaults={"max_drift_seconds": 3600},
    level="recommended",
    severity="low",
)
def check_clock_drift(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    shell_time = facts.first("uefi.time")
    if shell_time is None or not shell_time.value:
        raise Undecided("UEFI shell `time` output")
    if context.host_time is None:
        raise Undecided("the host clock when the console was recorded (a capture start time)")
    text = str(shell_time.value)
    shell_date = facts.first("uefi.date")
    if len(text) <= 8 and shell_date is not None and shell_date.value:
        text = f"{shell_date.value} {text}"
    try:
        firmware = datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return failed(
            f"UEFI time {shell_time.value!r} is not a date",
            "YYYY-MM-DD HH:MM:SS",
            str(shell_time.value),
            [shell_time.evidence],
        )

    # NOTE: the facts do not keep the zone that the shell prints after the time.
    # The time is read as UTC, so a firmware clock kept in local time is off by its UTC offset.
    host = context.host_time + (shell_time.evidence.time or 0.0)
    drift = abs(firmware.replace(tzinfo=timezone.utc).timestamp() - host)
    limit = float(params["max_drift_seconds"])
    expected = f"within {limit:.0f} s of the host clock"
    seen = f"{drift:.0f} s away"
    if drift > limit:
        return warning(
            f"firmware clock is {drift:.0f} s from the host clock",
            expected,
            seen,
            [shell_time.evidence],
        )
    return passed(
        f"firmware clock is {drift:.0f} s from the host clock",
        expected,
        seen,
        [shell_time.evidence],
    )
