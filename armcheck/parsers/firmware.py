"""Facts from what the firmware prints before the OS: banners, phases, countdowns.

Covered: TianoCore banners with the `Key: value` lines after them (Gigabyte
MP30-AR0 style), the EDK2 PrePi banner `UEFI firmware (version V built at T)`,
AMI Aptio banners, U-Boot (and SPL) banners with the board lines after them,
Arm Trusted Firmware `NOTICE:  BLx: vX` lines, EDK2 debug-build phase lines,
`BdsDxe: loading/starting Boot####` and boot countdowns.
"""

from __future__ import annotations

import logging
import re

from armcheck.facts import BANNER
from armcheck.parsers.base import LogLine, ParseContext

log = logging.getLogger(__name__)

# How many lines after a banner may hold its `Key: value` lines.
BANNER_INFO_LINES = 12

_TIANOCORE = re.compile(r"TianoCore (\S+) UEFI (\S+) (.+?)\s*$")
_EDK2 = re.compile(r"UEFI firmware \(version (.*?) built at (.+?)\)")
_AMI_VERSION = re.compile(r"Version (\d[\w.]*?)\.? Copyright \(C\) (\d{4}) American Megatrends")
_UBOOT = re.compile(r"U-Boot(?: (SPL|TPL|VPL))? (\S+) \(([^)]*)\)(.*)$")
_TFA = re.compile(r"NOTICE:\s+(BL\d+|BL3\d):\s+(v\d\S*)")
_BDS = re.compile(r"BdsDxe: (loading|starting) (Boot[0-9A-Fa-f]{4})(?: \"([^\"]*)\")?")
_INFO = re.compile(r"^\s*([A-Z][\w /-]{0,30}?)\s*:\s+(\S.*?)\s*$")
_COUNTDOWNS = (
    re.compile(r"Hit any key to stop autoboot:\s*(\d+)"),
    re.compile(r"Press ESC(?:APE)? .*?in (\d+) seconds"),
    re.compile(r"Press ESCAPE for boot options()"),
    re.compile(r"Press <?(?:DEL|F2|ESC)>? .*?to enter [Ss]etup()"),
)
# EDK2 debug builds print these as each phase starts (DEBUG output of the
# SEC core, PEI core, DXE IPL and DXE core, and the BDS driver).
# NOTE: no debug-build log was at hand, so only BdsDxe lines (which release
# builds print too) are checked against real output.
_PHASES = (
    ("SecCoreStartupWithStack", "SEC"),
    ("SEC: ", "SEC"),
    ("Loading PEIM", "PEI"),
    ("PEI: ", "PEI"),
    ("DXE IPL Entry", "DXE"),
    ("Loading DXE CORE", "DXE"),
    ("Loading driver at", "DXE"),
    ("[Bds]", "BDS"),
    ("BdsDxe: ", "BDS"),
)


class FirmwareParser:
    """Records firmware.*, tfa.version and countdown facts from console lines."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.following = 0  # lines still to read as `Key: value` after a banner
        self._info: dict[str, str] = {}
        self._info_line: LogLine | None = None

    def parse(self, line: LogLine) -> None:
        message = line.message
        if self.following:
            self.following -= 1
            self._take_info(line, message)
        if "TianoCore" in message:
            self._tianocore(line, message)
        elif "UEFI firmware (version" in message:
            self._edk2(line, message)
        elif "U-Boot" in message:
            self._uboot(line, message)
        elif "American Megatrends" in message:
            self._ami(line, message)
        elif message.startswith("NOTICE:"):
            self._tfa(line, message)
        elif message.startswith("BdsDxe:"):
            self._bds(line, message)
        self._phase(line, message)
        self._countdown(line, message)

    def finish(self) -> None:
        self._flush_info()

    def _add(self, key: str, value: object, line: LogLine) -> None:
        self.ctx.set_once(key, value, BANNER, line)

    def _start_info(self) -> None:
        self._flush_info()
        self.following = BANNER_INFO_LINES

    def _take_info(self, line: LogLine, message: str) -> None:
        match = _INFO.match(message)
        if match is None or match.group(1) in self._info:
            return
        if self._info_line is None:
            self._info_line = line
        self._info[match.group(1)] = match.group(2)

    def _flush_info(self) -> None:
        if self._info and self._info_line is not None:
            self.ctx.set_once("firmware.info", dict(self._info), BANNER, self._info_line)
        self._info = {}
        self._info_line = None
        self.following = 0

    def _tianocore(self, line: LogLine, message: str) -> None:
        match = _TIANOCORE.search(message)
        if match is None:
            return
        version, uefi, date = match.groups()
        self.ctx.add("firmware.banner", message.strip(), BANNER, line)
        self._add("firmware.vendor", "TianoCore", line)
        self._add("firmware.version", version, line)
        self._add("firmware.release_date", date, line)
        self._add("uefi.revision", uefi, line)
        self._start_info()

    def _edk2(self, line: LogLine, message: str) -> None:
        match = _EDK2.search(message)
        if match is None:
            return
        version, built = match.groups()
        self.ctx.add("firmware.banner", message.strip(), BANNER, line)
        # NOTE: an empty version ("version  built at") is left unrecorded:
        # the banner then names no version at all.
        if version.strip():
            self._add("firmware.version", version.strip(), line)
        # "13:10:49 on Nov  5 2024" reads date first, as the other banners print it.
        clock, _, day = built.partition(" on ")
        self._add("firmware.release_date", f"{day} {clock}" if day else built, line)

    def _uboot(self, line: LogLine, message: str) -> None:
        match = _UBOOT.search(message)
        if match is None:
            return
        stage, version, date, _ = match.groups()
        self.ctx.add("firmware.banner", message.strip(), BANNER, line)
        self._add("firmware.vendor", "U-Boot", line)
        self._add("firmware.version", version, line)
        self._add("firmware.release_date", date.strip(), line)
        if stage is None:
            self._start_info()

    def _ami(self, line: LogLine, message: str) -> None:
        # NOTE: the version line follows the Aptio setup screen's footer
        # ("Version 2.20.1271. Copyright (C) 2019 American Megatrends, Inc.");
        # no serial log with it was at hand to test against.
        self._add("firmware.vendor", "American Megatrends", line)
        match = _AMI_VERSION.search(message)
        if match:
            self.ctx.add("firmware.banner", message.strip(), BANNER, line)
            self._add("firmware.version", match.group(1), line)

    def _tfa(self, line: LogLine, message: str) -> None:
        match = _TFA.match(message)
        if match:
            self._add("tfa.version", match.group(2), line)

    def _bds(self, line: LogLine, message: str) -> None:
        match = _BDS.match(message)
        if match:
            action, option, label = match.groups()
            value = option if label is None else f'{option} "{label}"'
            self.ctx.set_once("firmware.boot_option", value, BANNER, line)

    def _phase(self, line: LogLine, message: str) -> None:
        for marker, phase in _PHASES:
            if marker in message:
                self._add("firmware.phase", phase, line)
                return

    def _countdown(self, line: LogLine, message: str) -> None:
        for pattern in _COUNTDOWNS:
            match = pattern.search(message)
            if match:
                digits = match.group(1)
                value = {"text": message.strip(), "seconds": int(digits) if digits else None}
                self.ctx.set_once("firmware.countdown", value, BANNER, line)
                return
