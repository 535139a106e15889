"""Reports: JUnit XML stays valid for hostile console text; terminal and JSON reports."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from armcheck.facts import LINUX_LOG, Evidence, Facts
from armcheck.reports import print_terminal, write_json, write_junit
from armcheck.reports.junit import build_junit
from armcheck.reports.text import printable, xml_safe
from armcheck.results import CheckResult, Status

# What a console can print: ESC sequences, NUL, a bell, bytes that are not
# UTF-8 (kept as lone surrogates by surrogateescape), and a CDATA terminator.
HOSTILE = '\x1b[31mPANIC\x1b[0m \x00\x07 bad \udcff\udcfe end ]]> <tag> & "quote"'

PROPERTIES = {
    "target": "qemu-virt",
    "profile": "sbsa-l3",
    "firmware.vendor": "EDK II",
    "firmware.version": "0.0.0 \x00\udc80",
    "capture": "run.cast",
}


def evidence(text: str = "[    1.164832] Run /init as init process") -> Evidence:
    return Evidence(LINUX_LOG, "boot.log", 268, 1.164832, text)


def sample_results() -> list[CheckResult]:
    return [
        CheckResult(
            "uart.spcr_present", Status.PASSED, "SPCR table present", "SPCR", "SPCR", [evidence()]
        ),
        CheckResult(
            "uart.console",
            Status.WARNING,
            "SPCR declares 9600 baud",
            "ttyAMA0,9600",
            "ttyAMA0,115200",
            [evidence()],
        ),
        CheckResult(
            "watchdog.sbsa_generic",
            Status.FAILED,
            "no SBSA generic watchdog in GTDT",
            "a watchdog",
            "no watchdog",
            [evidence()],
        ),
        CheckResult(
            "watchdog.os_driver",
            Status.WAIVED,
            "waived: no sbsa-gwdt",
            "",
            "",
            [evidence()],
            reason="qemu has no generic watchdog",
        ),
        CheckResult(
            "uart.interrupt",
            Status.SKIPPED,
            "skipped: needs SPCR bytes",
            reason="needs the SPCR table bytes",
        ),
        CheckResult("linux.panic", Status.ERROR, "not decided: the run never reached linux"),
    ]


def hostile_results() -> list[CheckResult]:
    return [
        CheckResult("linux.panic", Status.FAILED, HOSTILE, HOSTILE, HOSTILE, [evidence(HOSTILE)]),
        CheckResult("linux.firmware_bugs", Status.ERROR, HOSTILE, evidence=[evidence(HOSTILE)]),
        CheckResult("uart.console", Status.WARNING, HOSTILE, evidence=[evidence(HOSTILE)]),
        CheckResult("rtc.os_driver", Status.WAIVED, HOSTILE, reason=HOSTILE),
    ]


def parse(results: list[CheckResult], properties: dict[str, str] = PROPERTIES) -> ET.Element:
    return ET.fromstring(build_junit(results, properties).encode("utf-8"))


def case(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f".//testcase[@name='{name}']")
    assert found is not None
    return found


def test_junit_hostile_text_parses() -> None:
    root = parse(hostile_results())
    assert root.tag == "testsuites"


def test_junit_hostile_file_parses(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    write_junit(hostile_results(), path, PROPERTIES)
    assert ET.parse(path).getroot().tag == "testsuites"


def test_junit_hostile_keeps_text() -> None:
    failure = case(parse(hostile_results()), "linux.panic").find("failure")
    assert failure is not None and "]]>" in failure.get("message", "")


def test_junit_hostile_shows_bytes() -> None:
    failure = case(parse(hostile_results()), "linux.panic").find("failure")
    assert failure is not None and "\\xff" in (failure.text or "")


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\udcff", "\\xff"),
        ("\ufffe", "\\ufffe"),
        ("tab\there", "tab\there"),
    ],
)
def test_xml_safe_escapes(raw: str, shown: str) -> None:
    assert xml_safe(raw) == shown


def test_printable_escapes_escape() -> None:
    assert printable("\x1b[31m") == "\\x1b[31m"


def test_junit_suite_per_area() -> None:
    names = [suite.get("name") for suite in parse(sample_results()).iter("testsuite")]
    assert names == ["uart", "watchdog", "linux"]


def test_junit_classname() -> None:
    assert (
        case(parse(sample_results()), "uart.console").get("classname") == "armcheck.qemu-virt.uart"
    )


def test_junit_failure_carries_evidence() -> None:
    failure = case(parse(sample_results()), "watchdog.sbsa_generic").find("failure")
    assert failure is not None and "boot.log:268 @ 1.165 s" in (failure.text or "")


def test_junit_failure_message() -> None:
    failure = case(parse(sample_results()), "watchdog.sbsa_generic").find("failure")
    assert failure is not None and failure.get("message") == "no SBSA generic watchdog in GTDT"


def test_junit_error() -> None:
    assert case(parse(sample_results()), "linux.panic").find("error") is not None


def test_junit_waived_is_skipped_with_reason() -> None:
    skipped = case(parse(sample_results()), "watchdog.os_driver").find("skipped")
    assert skipped is not None and skipped.get("message") == "waived: qemu has no generic watchdog"


def test_junit_skipped_reason() -> None:
    skipped = case(parse(sample_results()), "uart.interrupt").find("skipped")
    assert skipped is not None and skipped.get("message") == "needs the SPCR table bytes"


def test_junit_warning_passes_with_output() -> None:
    warned = case(parse(sample_results()), "uart.console")
    assert warned.find("failure") is None and "warning:" in (warned.findtext("system-out") or "")


def test_junit_properties() -> None:
    properties = {
        prop.get("name"): prop.get("value") for prop in parse(sample_results()).iter("property")
    }
    assert properties["firmware.version"] == "0.0.0 \\x00\\x80"


def test_junit_counts() -> None:
    suite = [s for s in parse(sample_results()).iter("testsuite") if s.get("name") == "watchdog"]
    assert suite[0].get("failures") == "1"
    assert suite[0].get("skipped") == "1"


def render(results: list[CheckResult], color: bool | None = None) -> str:
    stream = io.StringIO()
    print_terminal(results, stream, color)
    return stream.getvalue()


def test_terminal_groups_by_area() -> None:
    lines = render(sample_results()).splitlines()
    assert [line for line in lines if not line.startswith(" ")][:3] == ["uart", "watchdog", "linux"]


def test_terminal_totals_line() -> None:
    assert render(sample_results()).splitlines()[-1] == (
        "1 passed, 1 failed, 1 warnings, 1 waived, 1 skipped, 1 errors"
    )


def test_terminal_failure_evidence() -> None:
    assert "at boot.log:268 @ 1.165 s: [    1.164832] Run /init" in render(sample_results())


def test_terminal_waived_reason() -> None:
    assert "reason: qemu has no generic watchdog" in render(sample_results())


def test_terminal_no_colour_off_tty() -> None:
    assert "\x1b[" not in render(sample_results())


def test_terminal_colour_on_request() -> None:
    assert "\x1b[1;31mFAIL" in render(sample_results(), color=True)


def test_terminal_hostile_text_escaped() -> None:
    assert "\x1b" not in render(hostile_results())


def facts_with_bytes() -> Facts:
    facts = Facts()
    facts.add("linux.version", "6.1.0 \udcff", evidence())
    return facts


def test_json_report_contents(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(facts_with_bytes(), sample_results(), path, {"profile": "sbsa-l3"})
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["profile"] == "sbsa-l3"
    assert len(document["results"]) == 6
    assert document["totals"]["failed"] == 1


def test_json_report_keeps_facts(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(facts_with_bytes(), sample_results(), path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["facts"]["facts"]["linux.version"][0]["evidence"]["line"] == 268
