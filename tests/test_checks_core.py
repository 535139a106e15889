"""The check runner: undecided checks, live runs, broken checks, order, context."""

from __future__ import annotations

from datetime import date

import pytest

from armcheck.checks import (
    AREAS,
    CATALOGUE,
    CheckContext,
    Undecided,
    context_from_facts,
    ordered_ids,
    register,
    run_check,
    run_checks,
)
from armcheck.facts import LINUX_LOG, UEFI_SHELL, Evidence, Facts
from armcheck.inputs import read_facts
from armcheck.profiles import load_profile
from armcheck.results import Status


def linux_only_facts() -> Facts:
    facts = Facts()
    facts.add("linux.version", "6.1.0-57-arm64", Evidence(LINUX_LOG, "boot.log", 8))
    return facts


def test_undecided_offline_is_skipped() -> None:
    check = CATALOGUE["uart.interrupt"]
    result = run_check(check, linux_only_facts(), check.defaults, CheckContext())
    assert result.status == Status.SKIPPED


def test_undecided_offline_names_evidence() -> None:
    check = CATALOGUE["uart.interrupt"]
    result = run_check(check, linux_only_facts(), check.defaults, CheckContext())
    assert "SPCR table bytes" in result.message


def test_undecided_live_unreached_is_error() -> None:
    check = CATALOGUE["uart.interrupt"]
    context = CheckContext(live=True, reached=frozenset({"firmware"}))
    result = run_check(check, Facts(), check.defaults, context)
    assert result.status == Status.ERROR


def test_undecided_live_error_names_stage() -> None:
    check = CATALOGUE["linux.panic"]
    context = CheckContext(live=True, reached=frozenset({"firmware", "uefi-shell"}))
    result = run_check(check, Facts(), check.defaults, context)
    assert "never reached linux" in result.message


def test_undecided_live_cut_short_is_error() -> None:
    check = CATALOGUE["uart.interrupt"]
    context = CheckContext(live=True, reached=frozenset({"firmware", "linux"}), complete=False)
    result = run_check(check, linux_only_facts(), check.defaults, context)
    assert result.status == Status.ERROR


def test_context_complete_passed_through() -> None:
    context = context_from_facts(Facts(), live=True, reached=["firmware"], complete=False)
    assert context.live is True
    assert context.reached == frozenset({"firmware"})
    assert context.complete is False


def test_undecided_live_reached_is_skipped() -> None:
    check = CATALOGUE["uart.interrupt"]
    context = CheckContext(live=True, reached=frozenset({"firmware", "uefi-shell", "linux"}))
    result = run_check(check, linux_only_facts(), check.defaults, context)
    assert result.status == Status.SKIPPED


def test_undecided_failed_command_is_error() -> None:
    # The UEFI shell's commands failed and Linux was left out: nothing could show the SPCR.
    check = CATALOGUE["uart.interrupt"]
    context = context_from_facts(
        Facts(),
        live=True,
        reached=["firmware", "uefi-shell", "linux", "linux-shell"],
        failed={"uefi-shell": ["dmem: 'dmem' is not recognized"]},
        not_planned=["linux", "linux-shell"],
    )
    result = run_check(check, Facts(), check.defaults, context)
    assert result.status == Status.ERROR
    assert "a command failed in the uefi-shell stage: dmem:" in result.message


def test_undecided_failed_command_other_stage_ran() -> None:
    # Linux ran its collection without failures, so the table is really missing.
    check = CATALOGUE["uart.interrupt"]
    context = context_from_facts(
        Facts(),
        live=True,
        reached=["firmware", "uefi-shell", "linux"],
        failed={"uefi-shell": ["dmem: 'dmem' is not recognized"]},
    )
    result = run_check(check, linux_only_facts(), check.defaults, context)
    assert result.status == Status.SKIPPED


def test_no_evidence_never_passes() -> None:
    statuses = {
        run_check(check, Facts(), check.defaults, CheckContext()).status
        for check in CATALOGUE.values()
    }
    assert Status.PASSED not in statuses


def test_broken_check_is_error() -> None:
    @register(
        "linux.broken_for_test",
        title="t",
        rule="r",
        source="s",
        sources=(LINUX_LOG,),
        facts=(),
    )
    def broken(facts, params, context):
        raise KeyError("missing")

    try:
        result = run_check(CATALOGUE["linux.broken_for_test"], Facts(), {}, CheckContext())
    finally:
        del CATALOGUE["linux.broken_for_test"]
    assert result.status == Status.ERROR


def test_register_rejects_unknown_area() -> None:
    with pytest.raises(ValueError):
        register("disk.smart", title="t", rule="r", source="s", sources=(), facts=())


def test_register_rejects_duplicate_id() -> None:
    with pytest.raises(ValueError):
        register("uart.spcr_present", title="t", rule="r", source="s", sources=(), facts=())


def test_undecided_carries_needs() -> None:
    assert Undecided("the GTDT bytes").needs == "the GTDT bytes"


def test_ordered_ids_group_by_area() -> None:
    areas = [
        check_id.split(".")[0]
        for check_id in ordered_ids(["linux.panic", "uart.console", "acpi.rsdp"])
    ]
    assert areas == ["uart", "acpi", "linux"]


def test_catalogue_areas_known() -> None:
    assert {check.area for check in CATALOGUE.values()} <= set(AREAS)


@pytest.mark.parametrize("check_id", sorted(CATALOGUE))
def test_check_states_rule_and_source(check_id: str) -> None:
    check = CATALOGUE[check_id]
    assert check.rule and check.source


def test_context_sources_from_facts() -> None:
    facts = linux_only_facts()
    facts.add("uefi.time", "20:12:29", Evidence(UEFI_SHELL, "shell.log", 15))
    assert context_from_facts(facts).sources == {LINUX_LOG, UEFI_SHELL}


def test_context_host_time_from_input() -> None:
    facts = Facts(inputs=[{"file": "a.cast", "kind": "capture", "timestamp": 1796415089}])
    assert context_from_facts(facts).host_time == 1796415089.0


def test_run_checks_covers_profile() -> None:
    profile = load_profile("bsa")
    results = run_checks(linux_only_facts(), profile, CheckContext(today=date(2026, 12, 4)))
    assert [result.check_id for result in results] == ordered_ids(profile.checks)


def test_run_checks_builds_context() -> None:
    results = run_checks(linux_only_facts(), load_profile("ebbr"))
    assert {result.status for result in results} <= {Status.SKIPPED, Status.PASSED}


def test_context_host_time_from_capture(tmp_path) -> None:
    from armcheck.capture import CaptureWriter

    path = tmp_path / "run.cast"
    with CaptureWriter(path, target="qemu-virt") as capture:
        capture.output(b"Shell> ")
    started = path.read_text(encoding="utf-8").split('"timestamp": ')[1].split(",")[0]
    facts = read_facts([path])
    assert abs(facts.inputs[0]["timestamp"] - int(started)) < 1.0
    assert abs(context_from_facts(facts).host_time - int(started)) < 1.0


def test_context_host_time_not_read_from_named_file(tmp_path, monkeypatch) -> None:
    # The entry names a capture in the working folder, as a piped input's `stdin`
    # would: its clock must not be taken, since the reader recorded none.
    from armcheck.capture import CaptureWriter

    monkeypatch.chdir(tmp_path)
    with CaptureWriter(tmp_path / "stdin", target="qemu-virt") as capture:
        capture.output(b"Shell> ")
    facts = Facts(inputs=[{"file": "stdin", "kind": "capture", "lines": 1}])
    assert context_from_facts(facts).host_time is None


def xsdt_walk_facts(signatures: list[str]) -> Facts:
    """Tables found by walking the XSDT of the qemu virt shell dump (no Linux table list)."""
    facts = Facts()
    shell = Evidence(UEFI_SHELL, "qemu-virt-gicv2-edk2-shell.log", 277)
    facts.add("acpi.xsdt.entries", [0x7C43FA98, 0x7C43FC18], shell)
    facts.add("acpi.rsdp", {"revision": 2, "xsdt_address": 0x7C43FE98}, shell)
    for signature in signatures:
        facts.add("acpi.table", {"signature": signature, "checksum_ok": True}, shell)
    return facts


def test_xsdt_walk_cannot_show_dsdt_absent() -> None:
    facts = xsdt_walk_facts(["XSDT", "FACP", "APIC", "GTDT", "DBG2", "SPCR", "MCFG", "PPTT"])
    check = CATALOGUE["acpi.mandatory_tables"]
    assert run_check(check, facts, check.defaults, CheckContext()).status == Status.SKIPPED


def test_xsdt_walk_shows_spcr_absent() -> None:
    facts = xsdt_walk_facts(["XSDT", "FACP", "APIC", "GTDT", "DBG2", "MCFG", "PPTT"])
    check = CATALOGUE["acpi.mandatory_tables"]
    result = run_check(check, facts, check.defaults, CheckContext())
    assert result.status == Status.FAILED
    assert result.message == "missing mandatory tables: SPCR"


def test_docs_list_every_check() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "checks.md").read_text(encoding="utf-8")
    assert [check_id for check_id in CATALOGUE if f"`{check_id}`" not in text] == []
