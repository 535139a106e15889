"""Profiles: the shipped files, extends, parameters, levels, waivers and their errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from armcheck.errors import ProfileError
from armcheck.profiles import apply_profile, builtin_profiles, load_profile
from armcheck.results import CheckResult, Status

SHIPPED = ["bsa", "ebbr", "gigabyte-mp30-ar0", "qemu-virt", "sbbr", "sbsa-l3"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def profile_error(path: Path) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    return str(caught.value)


def test_builtin_profiles_listed() -> None:
    assert builtin_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_builtin_profile_loads(name: str) -> None:
    assert load_profile(name).checks


@pytest.mark.parametrize("name", SHIPPED)
def test_builtin_waivers_have_reasons(name: str) -> None:
    assert all(waiver.reason for waiver in load_profile(name).waivers.values())


def test_sbsa_l3_requires_gicv3() -> None:
    assert load_profile("sbsa-l3").checks["cpu.gic_version"].params["min_version"] == 3


def test_sbsa_l3_requires_watchdog() -> None:
    assert load_profile("sbsa-l3").checks["watchdog.sbsa_generic"].params["required"] is True


def test_bsa_watchdog_optional() -> None:
    assert load_profile("bsa").checks["watchdog.sbsa_generic"].params["required"] is False


def test_sbsa_l3_allows_sbsa_uarts() -> None:
    assert load_profile("sbsa-l3").checks["uart.interface_type"].params["allowed"] == [3, 14]


def test_sbsa_l3_inherits_sbbr_tables() -> None:
    assert "acpi.mandatory_tables" in load_profile("sbsa-l3").checks


def test_qemu_virt_waives_watchdog() -> None:
    assert "watchdog.sbsa_generic" in load_profile("qemu-virt").waivers


def test_gigabyte_expects_ttys0() -> None:
    setting = load_profile("gigabyte-mp30-ar0").checks["uart.console"]
    assert setting.params["expected"] == "ttyS0,115200"


@pytest.mark.parametrize(
    "check_id", ["uart.interface_type", "rtc.os_driver", "watchdog.sbsa_generic"]
)
def test_gigabyte_waivers(check_id: str) -> None:
    assert check_id in load_profile("gigabyte-mp30-ar0").waivers


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError, match="unknown profile 'sbsa9'"):
        load_profile("sbsa9")


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not found"):
        load_profile(str(tmp_path / "none.yaml"))


def test_unknown_check_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "name: p\nchecks:\n  uart.spcr_present:\n  uart.spcr_bogus:\n")
    assert f"{path}:4" in profile_error(path)


def test_unknown_parameter_names_its_line(tmp_path: Path) -> None:
    text = "name: p\nextends: sbbr\nchecks:\n  uart.console:\n    expectd: ttyAMA0\n"
    path = write(tmp_path, "p.yaml", text)
    message = profile_error(path)
    assert f"{path}:5: uart.console has no parameter 'expectd'" in message


def test_bad_waiver_date_names_its_line(tmp_path: Path) -> None:
    text = "extends: sbbr\nwaivers:\n  rtc.os_driver:\n    reason: x\n    until: 31/03/2027\n"
    path = write(tmp_path, "p.yaml", text)
    assert f"{path}:5: waiver `until` '31/03/2027' is not a date" in profile_error(path)


def test_unknown_check_named(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "name: p\nchecks:\n  uart.spcr_bogus:\n")
    assert "uart.spcr_bogus" in profile_error(path)


def test_unknown_waiver_names_line(tmp_path: Path) -> None:
    text = (
        "extends: sbbr\nwaivers:\n  rtc.os_driver:\n    reason: none\n  rtc.bogus:\n    reason: x\n"
    )
    path = write(tmp_path, "p.yaml", text)
    assert f"{path}:5" in profile_error(path)


def test_waiver_needs_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "extends: sbbr\nwaivers:\n  rtc.os_driver:\n    until: 2027-01-01\n"
    )
    assert "needs a `reason`" in profile_error(path)


def test_waiver_bad_date(tmp_path: Path) -> None:
    text = "extends: sbbr\nwaivers:\n  rtc.os_driver:\n    reason: r\n    until: soon\n"
    path = write(tmp_path, "p.yaml", text)
    assert "not a date" in profile_error(path)


def test_waiver_for_check_not_run(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "extends: ebbr\nwaivers:\n  acpi.rsdp:\n    reason: r\n")
    assert "does not run" in profile_error(path)


def test_unknown_parameter_named(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  cpu.gic_version:\n    minimum: 3\n")
    assert "no parameter 'minimum'" in profile_error(path)


@pytest.mark.parametrize(
    "entry, message",
    [
        ("cpu.gic_version: {min_version: three}", "min_version must be an integer"),
        ("uart.interface_type: {allowed: ['0x03']}", "allowed must be a list like"),
        ("watchdog.sbsa_generic: {required: 1}", "required must be true or false"),
    ],
)
def test_parameter_type_checked(tmp_path: Path, entry: str, message: str) -> None:
    path = write(tmp_path, "p.yaml", f"checks:\n  {entry}\n")
    assert message in profile_error(path)


def test_string_parameter_accepts_number(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  uefi.revision: {min_revision: 2.8}\n")
    assert load_profile(str(path)).checks["uefi.revision"].params["min_revision"] == "2.8"


def test_unknown_sbbr_version_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  acpi.mandatory_tables: {sbbr_version: 1.3}\n")
    assert "invalid sbbr_version 1.3" in profile_error(path)


def test_known_sbbr_version_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  acpi.mandatory_tables: {sbbr_version: 1.1}\n")
    params = load_profile(str(path)).checks["acpi.mandatory_tables"].params
    assert params["sbbr_version"] == "1.1"


def test_invalid_level(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  cpu.gic_version:\n    level: optional\n")
    assert "invalid level 'optional'" in profile_error(path)


def test_unknown_top_key(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "name: p\nwaiver:\n  rtc.os_driver: {reason: r}\n")
    assert f"{path}:2" in profile_error(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks: [unclosed\n")
    assert "invalid YAML" in profile_error(path)


def test_extends_cycle(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nextends: b\n")
    path = write(tmp_path, "b.yaml", "name: b\nextends: a\n")
    assert "cycle" in profile_error(path)


def test_extends_unknown(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "name: p\nextends: nothing-here\n")
    assert f"{path}:2" in profile_error(path)


def test_extends_several_later_wins(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", "checks:\n  cpu.gic_version: {min_version: 3}\n")
    write(tmp_path, "two.yaml", "checks:\n  cpu.gic_version: {min_version: 4}\n")
    path = write(tmp_path, "p.yaml", "extends: [one, two]\n")
    assert load_profile(str(path)).checks["cpu.gic_version"].params["min_version"] == 4


def test_child_overrides_parent(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "extends: sbbr\nchecks:\n  cpu.gic_version: {min_version: 3}\n"
    )
    assert load_profile(str(path)).checks["cpu.gic_version"].params["min_version"] == 3


def test_child_keeps_parent_params(tmp_path: Path) -> None:
    path = write(
        tmp_path, "p.yaml", "extends: sbbr\nchecks:\n  watchdog.sbsa_generic:\n    severity: low\n"
    )
    assert load_profile(str(path)).checks["watchdog.sbsa_generic"].params["required"] is True


def failed_result(check_id: str = "watchdog.sbsa_generic") -> CheckResult:
    return CheckResult(check_id, Status.FAILED, "no SBSA generic watchdog in GTDT")


def waived_profile(tmp_path: Path, until: str = "") -> object:
    line = f"    until: {until}\n" if until else ""
    text = f"extends: sbbr\nwaivers:\n  watchdog.sbsa_generic:\n    reason: no watchdog\n{line}"
    return load_profile(str(write(tmp_path, "p.yaml", text)))


def test_waiver_waives_failure(tmp_path: Path) -> None:
    result = apply_profile(failed_result(), waived_profile(tmp_path), date(2026, 12, 4))
    assert result.status == Status.WAIVED


def test_waiver_keeps_reason(tmp_path: Path) -> None:
    result = apply_profile(failed_result(), waived_profile(tmp_path), date(2026, 12, 4))
    assert result.reason == "no watchdog"


def test_expired_waiver_fails(tmp_path: Path) -> None:
    profile = waived_profile(tmp_path, "2026-06-30")
    result = apply_profile(failed_result(), profile, date(2026, 12, 4))
    assert result.status == Status.FAILED


def test_expired_waiver_says_date(tmp_path: Path) -> None:
    profile = waived_profile(tmp_path, "2026-06-30")
    result = apply_profile(failed_result(), profile, date(2026, 12, 4))
    assert "waiver expired on 2026-06-30" in result.message


def test_waiver_until_future_waives(tmp_path: Path) -> None:
    profile = waived_profile(tmp_path, "2027-06-30")
    result = apply_profile(failed_result(), profile, date(2026, 12, 4))
    assert result.status == Status.WAIVED


def test_waived_result_json_has_the_waiver(tmp_path: Path) -> None:
    profile = waived_profile(tmp_path, "2027-06-30")
    result = apply_profile(failed_result(), profile, date(2026, 12, 4))
    assert result.to_json()["waiver"] == {
        "reason": "no watchdog",
        "until": "2027-06-30",
        "reference": "",
    }


def test_unwaived_result_json_has_no_waiver() -> None:
    assert failed_result().to_json()["waiver"] is None


def test_waiver_on_pass_stays_passed(tmp_path: Path) -> None:
    passed = CheckResult("watchdog.sbsa_generic", Status.PASSED, "1 watchdog")
    result = apply_profile(passed, waived_profile(tmp_path), date(2026, 12, 4))
    assert result.status == Status.PASSED


def test_recommended_failure_warns(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  cpu.gic_version: {level: recommended}\n")
    result = apply_profile(
        failed_result("cpu.gic_version"), load_profile(str(path)), date(2026, 12, 4)
    )
    assert result.status == Status.WARNING


def test_severity_copied(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "checks:\n  cpu.gic_version: {severity: critical}\n")
    result = apply_profile(
        failed_result("cpu.gic_version"), load_profile(str(path)), date(2026, 12, 4)
    )
    assert result.severity == "critical"


def test_profile_to_json_resolves_params() -> None:
    document = load_profile("sbsa-l3").to_json()
    assert document["checks"]["uart.console"]["params"] == {"expected": None}


def test_out_of_range_date_names_line(tmp_path: Path) -> None:
    text = (
        "name: p\nextends: sbbr\nwaivers:\n  uart.spcr_present:\n"
        "    reason: r\n    until: 2027-13-01\n"
    )
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(ProfileError, match=r"p\.yaml:6: invalid date '2027-13-01'"):
        load_profile(str(path))
