"""Facts from a Linux boot log (console output or `dmesg`).

The message formats below are those of mainline Linux 4.x to 6.x on arm64;
each handler names the kernel message it reads. A line reaches this parser
with its prefixes removed (see parsers/base.py), so patterns match at the
start of the kernel message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from armcheck.facts import LINUX_LOG, Evidence
from armcheck.parsers.base import MAX_KEPT_PER_KEY, LogLine, ParseContext

log = logging.getLogger(__name__)

# Messages remembered as parsed, so that their repeats are skipped. The set
# is emptied when full, which only costs speed.
MAX_REPEATS = 100_000

# Virtual terminals (`tty0`, `tty1`) are screen consoles, not serial ones.
_SCREEN_CONSOLE = re.compile(r"tty\d+$")

_VERSION = re.compile(r"Linux version (\S+)")
_EFI = re.compile(r"efi: EFI v(\d+(?:\.\d+)*) by (.+?)\s*$")
_EFI_TABLES = re.compile(r"([A-Z][\w.]*(?: \d\.\d)?)=(0x[0-9a-fA-F]+)")
_ACPI_TABLE = re.compile(
    r"ACPI: (\w{4}) 0x([0-9A-Fa-f]+) ([0-9A-Fa-f]+) \(v(\d+) ?(.{0,6})(?: (.{8}) ([0-9A-Fa-f]{8}))?"
)
_SPCR_CONSOLE = re.compile(r"ACPI: SPCR: console: (\S+)")
_GTDT_WATCHDOGS = re.compile(r"ACPI GTDT: found (\d+) SBSA generic Watchdog")
_EARLYCON = re.compile(r"earlycon: (\S+) at (\S+) (0x[0-9a-fA-F]+)(?: \(options '([^']*)'\))?")
_CONSOLE = re.compile(r"(?:printk: )?(legacy )?(boot)?console \[(\w+)\] enabled")
_UART = re.compile(
    r"(tty[A-Za-z]+\d+) at (?:MMIO32 |MMIO |I/O |PCI )?(0x[0-9a-fA-F]+)?.*?\bis a (.+?)\s*$"
)
_DMI_BIOS = re.compile(r"BIOS (\S+)(?: (.+?))?\s*$")
_SMBIOS = re.compile(r"SMBIOS (\d+)\.(\d+)(?:\.\d+)? present")
_PSCI = re.compile(r"psci: PSCIv(\d+\.\d+) detected")
_PSCI_V01 = re.compile(r"psci: Using PSCI v0\.1 Function IDs")
_SMCCC = re.compile(r"psci: SMC Calling Convention v(\S+)")
_SMP_TOTAL = re.compile(r"SMP: Total of (\d+) processors activated")
_SMP_UP = re.compile(r"smp: Brought up \d+ nodes?, (\d+) CPUs?")
_ITS = re.compile(r"ITS \[mem (0x[0-9a-fA-F]+)")
_V2M = re.compile(r"GICv2m: range\[mem (0x[0-9a-fA-F]+)")
_RTC = re.compile(r"(\S+) (\S+): (?:registered as (rtc\d+)|rtc core: registered \S+ as (rtc\d+))")
_WATCHDOG = re.compile(
    r"(\S*(?:wdt|wdog|watchdog)\S*) (\S+): (?:Initialized|initialized|registered|Watchdog enabled)"
)
_ECAM = re.compile(r"ECAM (?:at|area) \[mem ([^\]]+)\](?: reserved)? for \[bus ([^\]]+)\]")
_ECAM_DOMAIN = re.compile(r"PCI ECAM: ECAM for domain (\S+) \[bus ([^\]]+)\] at \[mem ([^\]]+)\]")
_INIT = re.compile(r"Run (\S+) as init process")
_LOGIN = re.compile(r"^[\w.-]+ login:\s*$")


class LinuxParser:
    """Records the Linux facts of docs/facts.md from kernel log lines."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.seen_kernel = False
        # Frame address -> first line that named it; counted when the input ends.
        self._its: dict[str, LogLine] = {}
        self._v2m: dict[str, LogLine] = {}
        self._tables: set[str] = set()
        # Messages already parsed that recorded nothing per occurrence; a
        # repeat of one of them can be skipped.
        self.repeats: set[str] = set()
        # The same messages in UTF-8, so that the scanner can skip a repeat
        # before it decodes the line.
        self.repeated_bytes: set[bytes] = set()
        self._counted = False
        self._handlers: list[tuple[str, Callable[[LogLine, str], None]]] = [
            ("Linux version ", self._version),
            ("Kernel command line: ", self._cmdline),
            ("efi: ", self._efi),
            ("EFI stub: Booting Linux", self._efi_stub),
            ("EFI services will not be available", self._no_runtime),
            ("Remapping and enabling EFI services", self._runtime),
            ("Machine model: ", self._machine_model),
            ("ACPI", self._acpi),
            ("earlycon: ", self._earlycon),
            ("console [", self._console),
            ("printk: ", self._console),
            ("legacy console [", self._console),
            ("DMI", self._dmi),
            ("SMBIOS ", self._smbios),
            ("Hardware name: ", self._hardware_name),
            ("psci: ", self._psci),
            ("GIC", self._gic),
            ("ITS ", self._its_line),
            ("SMP: ", self._cpus),
            ("smp: ", self._cpus),
            ("Run ", self._init),
            ("Kernel panic", self._panic),
            ("WARNING: ", self._warning),
        ]

        # The handlers grouped by the first two characters of their prefix, so
        # that a line is compared with a few prefixes only.
        self._by_head: dict[str, list[tuple[str, Callable[[LogLine, str], None]]]] = {}
        for prefix, handler in self._handlers:
            self._by_head.setdefault(prefix[:2], []).append((prefix, handler))

    def parse(self, line: LogLine) -> None:
        message = line.message
        if message in self.repeats:
            return
        self._counted = False
        for prefix, handler in self._by_head.get(message[:2], ()):
            if message.startswith(prefix):
                handler(line, message)
                break
        else:
            self._anywhere(line, message)
        if "[Firmware " in message:
            self._firmware_note(line, message)
        if not self._counted:
            # Every handler but _record is idempotent: the same message again
            # (the next boot in a long log) could only repeat recorded values.
            if len(self.repeats) >= MAX_REPEATS:
                self.repeats.clear()
                self.repeated_bytes.clear()
            self.repeats.add(message)
            try:
                self.repeated_bytes.add(message.encode("utf-8"))
            except UnicodeEncodeError:
                # Text with lone surrogates has no UTF-8 form, so its repeats
                # are skipped after decoding only.
                pass

    # Handlers, one per kernel message family.

    def finish(self) -> None:
        """Record the ITS and GICv2m frame counts and the totals of the problem lines."""
        for key, frames in (("gic.its", self._its), ("gic.v2m_frames", self._v2m)):
            if frames:
                self.ctx.add(key, len(frames), LINUX_LOG, next(iter(frames.values())))
        # Past MAX_KEPT_PER_KEY lines, the totals of [Firmware Bug] and ACPI
        # Error lines are recorded for the summary's counts.
        for key, total in (
            ("linux.firmware_bug_lines", self.ctx.counts.get("linux.firmware_bug", 0)),
            ("linux.acpi_error_lines", self.ctx.counts.get("linux.acpi_error", 0)),
        ):
            if total > MAX_KEPT_PER_KEY:
                self.ctx.facts.add(key, total, Evidence(LINUX_LOG, self.ctx.file))

    def _record(self, key: str, value: object, line: LogLine) -> None:
        self.seen_kernel = True
        self._counted = True
        self.ctx.add(key, value, LINUX_LOG, line)

    def _once(self, key: str, value: object, line: LogLine) -> None:
        self.seen_kernel = True
        self.ctx.set_once(key, value, LINUX_LOG, line)

    def _version(self, line: LogLine, message: str) -> None:
        match = _VERSION.match(message)
        if match:
            self._once("linux.version", match.group(1), line)

    def _cmdline(self, line: LogLine, message: str) -> None:
        self._once("linux.cmdline", message[len("Kernel command line: ") :].strip(), line)

    def _efi(self, line: LogLine, message: str) -> None:
        match = _EFI.match(message)
        if match:
            self._once("linux.efi", {"revision": match.group(1), "vendor": match.group(2)}, line)
            return
        if message.startswith("efi: UEFI not found"):
            # "UEFI not found": the kernel was not started by UEFI firmware.
            self._once("linux.efi", None, line)
            return
        if "runtime services" in message.lower() and "disabled" in message.lower():
            self._once("uefi.runtime_services", False, line)
            return
        tables = dict(_EFI_TABLES.findall(message))
        if tables:
            self._once(
                "linux.efi_tables", {name: int(addr, 16) for name, addr in tables.items()}, line
            )

    def _efi_stub(self, line: LogLine, message: str) -> None:
        self._once("linux.efi_stub", True, line)

    def _no_runtime(self, line: LogLine, message: str) -> None:
        self._once("uefi.runtime_services", False, line)

    def _runtime(self, line: LogLine, message: str) -> None:
        self._once("uefi.runtime_services", True, line)

    def _machine_model(self, line: LogLine, message: str) -> None:
        self._once("linux.machine_model", message[len("Machine model: ") :].strip(), line)

    def _acpi(self, line: LogLine, message: str) -> None:
        if message.startswith("ACPI: Interpreter disabled"):
            self._once("linux.acpi_disabled", True, line)
            return
        if message.startswith(("ACPI Error", "ACPI BIOS Error")):
            self._record("linux.acpi_error", message, line)
            return
        if message.startswith("ACPI Warning"):
            self._record("linux.acpi_warning", message, line)
            return
        match = _SPCR_CONSOLE.match(message)
        if match:
            self._once("console.spcr", match.group(1), line)
            return
        match = _GTDT_WATCHDOGS.match(message)
        if match:
            self._once("acpi.gtdt.watchdog_count", int(match.group(1)), line)
            return
        match = _ACPI_TABLE.match(message)
        if match:
            self._acpi_table(line, match)
            return
        if message.startswith("ACPI: Core revision"):
            self._once("linux.acpi_core", message[len("ACPI: Core revision ") :].strip(), line)

    def _acpi_table(self, line: LogLine, match: re.Match[str]) -> None:
        """Record one line of the kernel's table list.

        Linux prints `ACPI: SIG 0xADDRESS LENGTH (vREV OEMID OEMTABLE OEMREV ...)`
        for each table it maps. For the RSDP the parenthesis contains only the
        revision and the OEM id.
        """
        if match.group(0) in self._tables:
            # The same table printed again (a second boot in one log) adds nothing.
            return
        self._tables.add(match.group(0))
        signature, address, length, revision, oem_id, oem_table_id, _ = match.groups()
        if signature == "RSDP":
            value = {
                "revision": int(revision),
                "oem_id": oem_id.strip(),
                "address": int(address, 16),
            }
            self._once("acpi.rsdp", value, line)
            return
        table = {
            "signature": signature,
            "revision": int(revision),
            "length": int(length, 16),
            "oem_id": oem_id.strip(),
            "oem_table_id": (oem_table_id or "").strip(),
            "address": int(address, 16),
            "checksum_ok": None,
        }
        self._record("acpi.table", table, line)

    def _earlycon(self, line: LogLine, message: str) -> None:
        match = _EARLYCON.match(message)
        if match:
            name, access, address, options = match.groups()
            value = ",".join(part for part in (name, access.lower(), address, options) if part)
            self._once("console.earlycon", value, line)

    def _console(self, line: LogLine, message: str) -> None:
        match = _CONSOLE.match(message)
        if match is None or match.group(2):
            return
        device = match.group(3)
        if _SCREEN_CONSOLE.match(device):
            self._once("console.screen", device, line)
        else:
            self._once("console.device", device, line)

    def _dmi(self, line: LogLine, message: str) -> None:
        if message.startswith("DMI not present or invalid"):
            self._once("linux.dmi", None, line)
        elif message.startswith("DMI: "):
            value = message[len("DMI: ") :].strip()
            self._once("linux.dmi", value, line)
            self._bios_from(value, "linux.dmi_bios", line)

    def _hardware_name(self, line: LogLine, message: str) -> None:
        value = message[len("Hardware name: ") :].strip()
        self._once("linux.hardware_name", value, line)
        self._bios_from(value, "linux.hardware_name_bios", line)

    def _bios_from(self, value: str, key: str, line: LogLine) -> None:
        # The DMI line and the oops header both end in ", BIOS VERSION DATE".
        _, _, tail = value.rpartition(", ")
        match = _DMI_BIOS.match(tail)
        if match:
            self._once(key, {"version": match.group(1), "release_date": match.group(2)}, line)

    def _smbios(self, line: LogLine, message: str) -> None:
        match = _SMBIOS.match(message)
        if match:
            self._once("smbios.version", f"{match.group(1)}.{match.group(2)}", line)

    def _psci(self, line: LogLine, message: str) -> None:
        match = _PSCI.match(message)
        if match:
            self._once("psci.version", match.group(1), line)
            return
        if _PSCI_V01.match(message):
            self._once("psci.version", "0.1", line)
            return
        if message.startswith("psci: is not implemented in ACPI"):
            self._once("psci.version", None, line)
            return
        match = _SMCCC.match(message)
        if match:
            self._once("smccc.version", match.group(1), line)

    def _gic(self, line: LogLine, message: str) -> None:
        # The GICv3 driver prefixes its messages with "GICv3: ". The GICv1/v2
        # driver prints a bare "GIC: ", and so do erratum notes, which name GICv3.
        if message.startswith(("GICv3: ", "GICv4")) or (
            message.startswith("GIC: ") and "GICv3" in message
        ):
            self._once("gic.version", 3, line)
            return
        if message.startswith("GIC: "):
            self._once("gic.version", 2, line)
            return
        match = _V2M.match(message)
        if match:
            self.seen_kernel = True
            self._v2m.setdefault(match.group(1), line)

    def _its_line(self, line: LogLine, message: str) -> None:
        match = _ITS.match(message)
        if match:
            self.seen_kernel = True
            self._its.setdefault(match.group(1), line)

    def _cpus(self, line: LogLine, message: str) -> None:
        match = _SMP_TOTAL.match(message) or _SMP_UP.match(message)
        if match:
            self._once("cpu.online", int(match.group(1)), line)

    def _init(self, line: LogLine, message: str) -> None:
        match = _INIT.match(message)
        if match:
            self._once("linux.init", match.group(1), line)

    def _panic(self, line: LogLine, message: str) -> None:
        self._record("linux.panic", message, line)

    def _warning(self, line: LogLine, message: str) -> None:
        self._record("linux.warning", message, line)

    def _anywhere(self, line: LogLine, message: str) -> None:
        """Messages that start with a device name or sit mid-line."""
        if "Internal error: Oops" in message:
            self._record("linux.oops", message, line)
            return
        if " is a " in message:
            match = _UART.search(message)
            if match:
                device, address, kind = match.groups()
                value = {
                    "device": device,
                    "type": kind,
                    "address": int(address, 16) if address else None,
                }
                self._once("console.uart", value, line)
                return
        if "rtc" in message:
            match = _RTC.match(message)
            if match:
                self._once("rtc.driver", match.group(1), line)
                self._once("rtc.device", match.group(3) or match.group(4), line)
                return
        if "ECAM" in message:
            self._ecam(line, message)
            return
        match = _WATCHDOG.match(message)
        if match:
            self._once("watchdog.driver", match.group(1), line)
            return
        if _LOGIN.match(message):
            self._once("linux.login_prompt", True, line)

    def _ecam(self, line: LogLine, message: str) -> None:
        match = _ECAM_DOMAIN.search(message)
        if match:
            domain, buses, region = match.groups()
            self._once("pcie.ecam", f"{region} domain {domain} bus {buses}", line)
            return
        match = _ECAM.search(message)
        if match:
            region, buses = match.groups()
            self._once("pcie.ecam", f"{region} bus {buses}", line)

    def _firmware_note(self, line: LogLine, message: str) -> None:
        if "[Firmware Bug]" in message:
            self._record("linux.firmware_bug", message, line)
        elif "[Firmware Warn]" in message:
            self._record("linux.firmware_warn", message, line)
