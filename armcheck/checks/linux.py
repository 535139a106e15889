"""Linux log health: firmware bugs the kernel reported, panics and oopses."""

from __future__ import annotations

from typing import Any

from armcheck.checks import CheckContext, Undecided, failed, passed, register
from armcheck.checks.common import linux_log_evidence
from armcheck.facts import LINUX_LOG, Facts
from armcheck.results import CheckResult


@register(
    "linux.firmware_bugs",
    title="No [Firmware Bug] lines",
    rule="The kernel must report no `[Firmware Bug]` while it boots",
    source="FWTS klog test; Linux FW_BUG messages (include/linux/printk.h)",
    sources=(LINUX_LOG,),
    facts=("linux.firmware_bug",),
    severity="high",
)
def check_firmware_bugs(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    bugs = facts.all("linux.firmware_bug")
    if bugs:
        return failed(
            f"{len(bugs)} [Firmware Bug] line(s)",
            "none",
            f"{len(bugs)} line(s)",
            [obs.evidence for obs in bugs],
        )
    log_evidence = linux_log_evidence(facts)
    if not log_evidence:
        raise Undecided("a Linux boot log")
    return passed("no [Firmware Bug] lines", "none", "none", log_evidence)


@register(
    "linux.panic",
    title="No kernel panic or Oops",
    rule="The kernel must boot without a panic or an Oops",
    source="Linux boot health (panic and Oops lines)",
    sources=(LINUX_LOG,),
    facts=("linux.panic", "linux.oops"),
    severity="critical",
)
def check_panic(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    found = facts.all("linux.panic") + facts.all("linux.oops")
    if found:
        return failed(
            f"{len(found)} panic/Oops line(s)",
            "none",
            str(found[0].value),
            [obs.evidence for obs in found],
        )
    log_evidence = linux_log_evidence(facts)
    if not log_evidence:
        raise Undecided("a Linux boot log")
    return passed("no panic or Oops", "none", "none", log_evidence)
