"""UART checks: the SPCR and DBG2 tables and the console the OS derives from them.

SBBR (Arm DEN0044, 1.x) makes the SPCR table mandatory so that the OS finds
its serial console without a command line, and requires DBG2 to name the
debug port. The interface types are those of Microsoft's "Serial Port
Console Redirection Table" and "DBG2" specifications (table 3 of DBG2).
"""

from __future__ import annotations

import re
from typing import Any

from armcheck.checks import (
    CheckContext,
    Undecided,
    evidence_of,
    failed,
    hexa,
    passed,
    register,
    warning,
)
from armcheck.checks.common import (
    TABLE_LIST,
    as_int,
    decoded,
    linux_booted,
    table_list_evidence,
    table_revision,
    tables_present,
)
from armcheck.facts import ACPI_TABLE, LINUX_LOG, Evidence, Facts, Observation
from armcheck.results import CheckResult

# SPCR/DBG2 serial interface types (DBG2 specification, table 3).
INTERFACE_NAMES = {
    0x00: "16550 compatible",
    0x01: "16550 subset",
    0x03: "Arm PL011",
    0x0D: "Arm SBSA 32-bit UART (deprecated)",
    0x0E: "Arm SBSA generic UART",
    0x12: "16550 described by a generic address structure",
}
# SBBR accepts the 16550 family, the PL011 and the SBSA UART; DBG2 deprecates 0x0D.
SBBR_INTERFACES = [0x00, 0x01, 0x03, 0x0E, 0x12]
DEPRECATED_INTERFACES = [0x0D]

# The SPCR baud rate codes and the speed each one selects (0: as configured by firmware).
BAUD_CODES = {0: None, 3: 9600, 4: 19200, 6: 57600, 7: 115200}

# Linux's `ACPI: SPCR: console: pl011,mmio,0x9000000,115200` names the driver
# class, not the exact interface type. drivers/acpi/spcr.c prints `pl011` for
# 0x03, 0x0D and 0x0E and `uart` for the 16550 types. The I/O type is `mmio32`
# for 0x0D and for any type whose access width is 32 bits, else `mmio`.
LINUX_UART_TYPES = {
    ("pl011", "mmio"): [0x03, 0x0E],
    ("pl011", "mmio32"): [0x03, 0x0D, 0x0E],
    ("uart", "mmio"): [0x00, 0x01, 0x12],
    ("uart", "mmio32"): [0x00, 0x01, 0x12],
    ("uart", "mmio32be"): [0x00, 0x01, 0x12],
    ("uart", "io"): [0x00, 0x01, 0x12],
}

SERIAL_PORT_TYPE = 0x8000
SPCR_BYTES = "the SPCR table bytes (a UEFI shell dump or acpidump output)"
SPCR_EVIDENCE = "the SPCR table (its bytes, or Linux's `ACPI: SPCR: console:` line)"


def spcr_table(facts: Facts) -> Observation | None:
    return decoded(facts, "acpi.spcr")


def linux_spcr_console(facts: Facts) -> dict[str, Any] | None:
    """Parse Linux's SPCR console line into uart, iotype, address, baud and its evidence."""
    obs = facts.first("console.spcr")
    if obs is None or not isinstance(obs.value, str):
        return None
    fields = [part.strip() for part in obs.value.split(",")]
    parsed: dict[str, Any] = {"uart": fields[0].lower(), "evidence": obs.evidence}
    parsed["iotype"] = fields[1].lower() if len(fields) > 1 else ""
    parsed["address"] = as_int(fields[2]) if len(fields) > 2 else None
    baud = re.match(r"\d+", fields[3]) if len(fields) > 3 else None
    parsed["baud"] = int(baud.group(0)) if baud else None
    return parsed


def _describe(code: int) -> str:
    return f"{hexa(code)} ({INTERFACE_NAMES.get(code, 'reserved or not allowed')})"


@register(
    "uart.spcr_present",
    title="SPCR table present",
    rule="An SPCR table must name the console UART",
    source="Arm SBBR 1.2 (DEN0044), mandatory ACPI tables; FWTS spcr test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.table", "acpi.spcr", "console.spcr", "acpi.xsdt.entries"),
    severity="critical",
)
def check_spcr_present(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    present = tables_present(facts).get("SPCR")
    if present:
        return passed("SPCR table present", "SPCR", "SPCR", present[:1])
    console = linux_spcr_console(facts)
    if console:
        return passed("Linux read its console from SPCR", "SPCR", "SPCR", [console["evidence"]])
    listed = table_list_evidence(facts)
    if listed:
        return failed("no SPCR table in the ACPI table list", "SPCR", "no SPCR", listed)
    raise Undecided(TABLE_LIST)


@register(
    "uart.spcr_revision",
    title="SPCR revision 2 or later",
    rule="The SPCR table revision must be at least 2, which adds the GIC interrupt fields",
    source="Arm SBBR 1.2 (DEN0044), SPCR requirements; FWTS spcr test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.spcr", "acpi.table"),
    defaults={"min_revision": 2},
)
def check_spcr_revision(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    minimum = int(params["min_revision"])
    table = spcr_table(facts)
    if table is not None and table.value.get("revision") is not None:
        revision, evidence = table.value["revision"], table.evidence
    else:
        listed = table_revision(facts, "SPCR")
        if listed is None:
            raise Undecided("the SPCR table header (bytes or Linux's ACPI table list)")
        revision, evidence = listed.value["revision"], listed.evidence
    expected = f"revision >= {minimum}"
    if (as_int(revision) or 0) >= minimum:
        return passed(f"SPCR revision {revision}", expected, str(revision), [evidence])
    return failed(
        f"SPCR revision {revision} is below {minimum}", expected, str(revision), [evidence]
    )


@register(
    "uart.interface_type",
    title="SPCR interface type allowed",
    rule="The SPCR interface type must be a UART the profile allows; 0x0D is deprecated",
    source="Arm SBBR 1.2 (DEN0044) and BSA ACS B_PER_05; SBSA ACS S_L3PR_01 for 0x03/0x0E",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.spcr", "console.spcr"),
    defaults={"allowed": SBBR_INTERFACES, "deprecated": DEPRECATED_INTERFACES},
    severity="high",
)
def check_interface_type(
    facts: Facts, params: dict[str, Any], context: CheckContext
) -> CheckResult:
    allowed = [int(code) for code in params["allowed"]]
    deprecated = [int(code) for code in params.get("deprecated") or []]
    expected = "one of " + ", ".join(hexa(code) for code in allowed)
    table = spcr_table(facts)
    if table is not None and table.value.get("interface_type") is not None:
        code = as_int(table.value["interface_type"]) or 0
        return _judge_interface(code, allowed, deprecated, expected, [table.evidence], "SPCR")

    console = linux_spcr_console(facts)
    if console is None:
        raise Undecided(SPCR_EVIDENCE)
    candidates = LINUX_UART_TYPES.get((console["uart"], console["iotype"]))
    seen = f"Linux SPCR console `{console['uart']},{console['iotype']}`"
    if candidates is None:
        return failed(
            f"{seen} is not a UART class SBBR allows", expected, seen, [console["evidence"]]
        )
    codes = " or ".join(hexa(code) for code in candidates)
    usable = [code for code in candidates if code in allowed]
    if usable and all(code in allowed or code in deprecated for code in candidates):
        doubt = [hexa(code) for code in candidates if code in deprecated]
        note = (
            f"; only the table bytes tell whether it is the deprecated {doubt[0]}" if doubt else ""
        )
        return passed(
            f"{seen}: interface type {codes}{note}", expected, seen, [console["evidence"]]
        )
    if not usable:
        return failed(
            f"{seen} means interface type {codes}, none allowed",
            expected,
            seen,
            [console["evidence"]],
        )
    raise Undecided(f"{SPCR_BYTES}: {seen} does not fix the exact interface type")


def _judge_interface(
    code: int,
    allowed: list[int],
    deprecated: list[int],
    expected: str,
    evidence: list[Evidence],
    table: str,
) -> CheckResult:
    seen = _describe(code)
    if code in deprecated:
        return warning(f"{table} interface type {seen} is deprecated", expected, seen, evidence)
    if code in allowed:
        return passed(f"{table} interface type {seen}", expected, seen, evidence)
    return failed(f"{table} interface type {seen} is not allowed", expected, seen, evidence)


@register(
    "uart.base_address",
    title="SPCR base address and access width",
    rule="The SPCR base address must be non-zero and state its access width",
    source="Microsoft SPCR specification; FWTS spcr test (base address, access width)",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.spcr", "console.spcr"),
)
def check_base_address(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = "a non-zero address with access size 1 to 4 (byte to qword)"
    table = spcr_table(facts)
    if table is not None and isinstance(table.value.get("base_address"), dict):
        gas = table.value["base_address"]
        address = as_int(gas.get("address")) or 0
        access_size = as_int(gas.get("access_size")) or 0
        seen = f"address 0x{address:X}, access size {access_size}"
        if address == 0:
            return failed("SPCR base address is zero", expected, seen, [table.evidence])
        if access_size not in (1, 2, 3, 4):
            return failed(
                "SPCR base address has no valid access width", expected, seen, [table.evidence]
            )
        return passed(f"SPCR UART at 0x{address:X}", expected, seen, [table.evidence])

    console = linux_spcr_console(facts)
    if console is None or console["address"] is None:
        raise Undecided(SPCR_EVIDENCE)
    seen = f"address 0x{console['address']:X} ({console['iotype']})"
    if console["address"] == 0:
        return failed("SPCR base address is zero", expected, seen, [console["evidence"]])
    # NOTE: Linux's console line shows the address but not the GAS access size.
    return passed(
        f"SPCR UART at 0x{console['address']:X} (access width not shown by Linux)",
        expected,
        seen,
        [console["evidence"]],
    )


@register(
    "uart.interrupt",
    title="SPCR interrupt is a GIC interrupt",
    rule="The SPCR interrupt type must have bit 3 (ARMH GIC) set and a non-zero GSIV",
    source="Arm SBBR 1.2 (DEN0044), SPCR requirements; FWTS spcr test (interrupt type)",
    sources=(ACPI_TABLE,),
    facts=("acpi.spcr",),
)
def check_interrupt(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    table = spcr_table(facts)
    if table is None or table.value.get("interrupt_type") is None:
        raise Undecided(SPCR_BYTES)
    interrupt_type = as_int(table.value["interrupt_type"]) or 0
    gsiv = as_int(table.value.get("gsiv")) or 0
    expected = "interrupt type with bit 0x08 (GIC) set, GSIV non-zero"
    seen = f"interrupt type {hexa(interrupt_type)}, GSIV {gsiv}"
    if not interrupt_type & 0x08:
        return failed("SPCR interrupt is not a GIC interrupt", expected, seen, [table.evidence])
    if gsiv == 0:
        return failed("SPCR GSIV is zero", expected, seen, [table.evidence])
    return passed(f"SPCR uses GIC interrupt {gsiv}", expected, seen, [table.evidence])


@register(
    "uart.line_settings",
    title="SPCR baud, parity and stop bits",
    rule="The SPCR baud code must be 0, 3, 4, 6 or 7, with no parity and one stop bit",
    source="Microsoft SPCR specification (baud, parity, stop bits fields); FWTS spcr test",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.spcr", "console.spcr"),
)
def check_line_settings(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    expected = "baud code 0/3/4/6/7, parity 0, stop bits 1"
    table = spcr_table(facts)
    if table is not None and table.value.get("baud_code") is not None:
        code = as_int(table.value["baud_code"]) or 0
        parity = table.value.get("parity")
        stop_bits = table.value.get("stop_bits")
        seen = f"baud code {code}, parity {parity}, stop bits {stop_bits}"
        if code not in BAUD_CODES:
            return failed(f"SPCR baud code {code} is reserved", expected, seen, [table.evidence])
        if parity not in (0, None) or stop_bits not in (1, None):
            return failed("SPCR line settings are not 8N1", expected, seen, [table.evidence])
        return passed(f"SPCR line settings: {seen}", expected, seen, [table.evidence])

    console = linux_spcr_console(facts)
    if console is None:
        raise Undecided(SPCR_EVIDENCE)
    baud = console["baud"]
    seen = f"{baud} baud" if baud else "no speed (code 0, as configured by firmware)"
    if baud is not None and baud not in BAUD_CODES.values():
        return failed(
            f"Linux derived {baud} baud, which no SPCR baud code gives",
            expected,
            seen,
            [console["evidence"]],
        )
    # NOTE: parity and stop bits are only in the table bytes; Linux shows the speed.
    return passed(
        f"SPCR speed {seen} (parity and stop bits not shown by Linux)",
        expected,
        seen,
        [console["evidence"]],
    )


def _registered_uarts(facts: Facts) -> list[Observation]:
    return [obs for obs in facts.all("console.uart") if isinstance(obs.value, dict)]


def _spcr_address(facts: Facts) -> int | None:
    table = spcr_table(facts)
    if table is not None and isinstance(table.value.get("base_address"), dict):
        return as_int(table.value["base_address"].get("address"))
    console = linux_spcr_console(facts)
    return console["address"] if console else None


def _cmdline_speed(facts: Facts, device: str) -> tuple[int | None, list[Evidence]]:
    """Return the speed the kernel command line gives `device` (`console=ttyAMA0,115200`)."""
    cmdline = facts.first("linux.cmdline")
    if cmdline is not None and isinstance(cmdline.value, str):
        for match in re.finditer(r"console=(\w+),(\d+)", cmdline.value):
            if match.group(1) == device:
                return int(match.group(2)), [cmdline.evidence]
    return None, []


def _spcr_speed(facts: Facts) -> tuple[int | None, list[Evidence]]:
    """Return the SPCR speed (None for code 0, as configured by firmware) and its evidence."""
    table = spcr_table(facts)
    if table is not None and table.value.get("baud_code") is not None:
        return BAUD_CODES.get(as_int(table.value["baud_code"]) or 0), [table.evidence]
    console = linux_spcr_console(facts)
    if console and console["baud"]:
        return console["baud"], [console["evidence"]]
    return None, []


@register(
    "uart.console",
    title="OS console matches SPCR and the profile",
    rule="The console the OS derived from SPCR must be the UART in use and the expected console",
    source="Arm SBBR 1.2 (DEN0044), SPCR requirements; Linux drivers/acpi/spcr.c",
    sources=(LINUX_LOG,),
    facts=("console.device", "console.spcr", "console.uart", "linux.cmdline"),
    defaults={"expected": None},
)
def check_console(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    device_obs = facts.first("console.device")
    if device_obs is None or not device_obs.value:
        raise Undecided("Linux's serial console line (`printk: console [ttyAMA0] enabled`)")
    device = str(device_obs.value)
    evidence = [device_obs.evidence]

    spcr_address = _spcr_address(facts)
    if spcr_address is not None:
        matching = [
            obs
            for obs in _registered_uarts(facts)
            if as_int(obs.value.get("address")) == spcr_address
        ]
        if matching:
            spcr_device = str(matching[0].value.get("device"))
            evidence.append(matching[0].evidence)
            if spcr_device != device:
                return failed(
                    f"SPCR names {spcr_device} at 0x{spcr_address:X} but the console is {device}",
                    spcr_device,
                    device,
                    evidence,
                )

    expected = params.get("expected")
    expected_device, _, expected_speed = str(expected or "").partition(",")
    if expected_device and device != expected_device:
        return failed(
            f"console is {device}, the profile expects {expected_device}",
            str(expected),
            device,
            evidence,
        )
    if not expected_device and spcr_address is None:
        raise Undecided("the SPCR UART address or a profile's expected console")

    spcr_speed, spcr_evidence = _spcr_speed(facts)
    line_speed, line_evidence = _cmdline_speed(facts, device)
    speed = line_speed or spcr_speed
    seen = f"{device},{speed}" if speed else device
    spcr_text = f"the SPCR UART at {spcr_speed} baud" if spcr_speed else "the SPCR UART"
    expected_text = str(expected) if expected else spcr_text
    evidence += line_evidence + spcr_evidence
    if expected_speed and speed is not None and str(speed) != expected_speed:
        return warning(
            f"console {device} runs at {speed} baud, the profile expects {expected_speed}",
            expected_text,
            seen,
            evidence,
        )
    if spcr_speed and line_speed and spcr_speed != line_speed:
        # The mismatch is between the SPCR and the console, whatever the profile expects.
        return warning(
            f"SPCR declares {spcr_speed} baud but the console {device} runs at {line_speed}",
            f"the console at the SPCR's {spcr_speed} baud",
            seen,
            evidence,
        )
    if spcr_address is None:
        return passed(f"console {seen} is the profile's {expected}", expected_text, seen, evidence)
    return passed(f"console {seen} is the SPCR UART", expected_text, seen, evidence)


@register(
    "uart.dbg2_serial",
    title="DBG2 lists a serial port",
    rule="DBG2 must list a serial debug port (type 0x8000) of an allowed subtype",
    source="Arm SBBR 1.2 (DEN0044), mandatory DBG2; Microsoft DBG2 specification table 3",
    sources=(ACPI_TABLE, LINUX_LOG),
    facts=("acpi.dbg2", "acpi.table"),
    defaults={"allowed": SBBR_INTERFACES, "deprecated": DEPRECATED_INTERFACES},
)
def check_dbg2_serial(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    allowed = [int(code) for code in params["allowed"]]
    deprecated = [int(code) for code in params.get("deprecated") or []]
    expected = "a serial port of subtype " + ", ".join(hexa(code) for code in allowed)
    table = decoded(facts, "acpi.dbg2")
    if table is None:
        listed = table_list_evidence(facts)
        if listed and "DBG2" not in tables_present(facts):
            return failed("no DBG2 table in the ACPI table list", "DBG2", "no DBG2", listed)
        raise Undecided("the DBG2 table bytes")
    serial = [
        device
        for device in table.value.get("devices") or []
        if as_int(device.get("port_type")) == SERIAL_PORT_TYPE
    ]
    if not serial:
        return failed(
            "DBG2 lists no serial port", expected, "no device of type 0x8000", [table.evidence]
        )
    results = [
        _judge_interface(
            as_int(device.get("port_subtype")) or 0,
            allowed,
            deprecated,
            expected,
            [table.evidence],
            "DBG2",
        )
        for device in serial
    ]
    for result in results:
        if result.status.value == "passed":
            return result
    return results[0]


@register(
    "uart.os_registered",
    title="OS registered the UART",
    rule="The OS must register the console UART that SPCR describes",
    source="Arm SBBR 1.2 (DEN0044); BSA ACS B_PER_05 (UART usable by the OS)",
    sources=(LINUX_LOG,),
    facts=("console.uart", "console.spcr", "acpi.spcr"),
)
def check_os_registered(facts: Facts, params: dict[str, Any], context: CheckContext) -> CheckResult:
    uarts = _registered_uarts(facts)
    spcr_address = _spcr_address(facts)
    expected = f"a UART at 0x{spcr_address:X}" if spcr_address else "a registered UART"
    if uarts:
        if spcr_address is None:
            return passed(
                f"Linux registered {uarts[0].value.get('device')}",
                expected,
                str(uarts[0].value.get("device")),
                [uarts[0].evidence],
            )
        for obs in uarts:
            if as_int(obs.value.get("address")) == spcr_address:
                return passed(
                    f"Linux registered {obs.value.get('device')} at 0x{spcr_address:X}",
                    expected,
                    str(obs.value.get("device")),
                    [obs.evidence],
                )
        seen = ", ".join(
            f"{obs.value.get('device')} at {hexa(obs.value.get('address'))}" for obs in uarts
        )
        return failed(
            "Linux registered no UART at the SPCR address",
            expected,
            seen,
            evidence_of(facts, "console.uart"),
        )
    booted = linux_booted(facts)
    if booted:
        return failed("Linux registered no UART before user space", expected, "none", booted)
    raise Undecided("a Linux boot log that reaches the serial driver probe")
