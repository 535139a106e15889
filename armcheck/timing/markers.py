"""Boot stage markers: the console lines that start each stage, milestone and wait.

A marker is a named regular expression with a role. The role defines what a
matching line means for the stage timeline:

- `milestone`: a firmware step worth its own nested span (TF-A BL1/BL2/BL31,
  banners, EDK2 debug phases, the boot manager loading an image);
- `loader`: the OS loader started (EFI stub, GRUB, U-Boot's `Starting kernel`);
- `kernel`: the Linux kernel started;
- `init`: the kernel started the first userspace process;
- `ready`: userspace is ready (a login prompt or a shell prompt);
- `shutdown`: the system powers down or restarts;
- `wait`: a countdown that waits for a key before the boot goes on.

The built-in list below can be extended and overridden from a YAML file
(`armcheck time --markers FILE`) or from a target's `timing.markers` option;
docs/timing.md describes the format.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from armcheck.errors import UsageError

log = logging.getLogger(__name__)

MILESTONE = "milestone"
LOADER = "loader"
KERNEL = "kernel"
INIT = "init"
READY = "ready"
SHUTDOWN = "shutdown"
WAIT = "wait"
ROLES = (MILESTONE, LOADER, KERNEL, INIT, READY, SHUTDOWN, WAIT)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Marker:
    """A named pattern searched in each transcript line, and the role of a matching line."""

    name: str
    role: str
    pattern: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


_compiled: dict[str, re.Pattern[str]] = {}


def _compile(pattern: str) -> re.Pattern[str]:
    regex = _compiled.get(pattern)
    if regex is None:
        regex = _compiled[pattern] = re.compile(pattern)
    return regex


DEFAULT_MARKERS: tuple[Marker, ...] = (
    # Arm Trusted Firmware (TF-A) prints "NOTICE:  BL1: v2.9(release):..." as each
    # boot loader stage starts.
    Marker("bl1", MILESTONE, r"\bBL1: "),
    Marker("bl2", MILESTONE, r"\bBL2: "),
    Marker("bl31", MILESTONE, r"\bBL31: "),
    # U-Boot SPL and U-Boot proper print their version banner first.
    Marker("u-boot-spl", MILESTONE, r"^U-Boot SPL \d{4}\.\d{2}"),
    Marker("u-boot", MILESTONE, r"^U-Boot \d{4}\.\d{2}"),
    # EDK2 ArmVirtPkg and other platforms print this banner when the firmware starts.
    Marker("uefi-banner", MILESTONE, r"UEFI firmware \(version"),
    Marker("tianocore", MILESTONE, r"\bTianoCore\b"),
    Marker("ami", MILESTONE, r"American Megatrends|\bAptio\b"),
    # EDK2 debug builds: the PEI dispatcher loads its first PEIM, DxeIpl loads the
    # DXE core, and BdsDxe's entry point prints "[Bds] Entry...".
    # NOTE: these three and the TianoCore and AMI patterns are not yet checked
    # against a real console log; the release AAVMF here prints none of them.
    Marker("edk2-pei", MILESTONE, r"^Loading PEIM at "),
    Marker("edk2-dxe", MILESTONE, r"^Loading DXE CORE at "),
    Marker("edk2-bds", MILESTONE, r"^\[Bds\] ?Entry"),
    # EDK2 BdsDxe (release builds too) names each boot option it loads and starts.
    Marker("bds-loading", MILESTONE, r"^BdsDxe: loading "),
    Marker("bds-starting", MILESTONE, r"^BdsDxe: starting "),
    Marker("efi-stub", LOADER, r"EFI stub: Booting Linux Kernel"),
    Marker("grub", LOADER, r"GNU GRUB +version"),
    Marker("u-boot-starting-kernel", LOADER, r"^Starting kernel \.\.\."),
    Marker("linux", KERNEL, r"Booting Linux on physical CPU"),
    Marker("init", INIT, r"Run \S+ as init process"),
    Marker("systemd", INIT, r"systemd\[1\]: systemd \d+ running"),
    Marker("login", READY, r"\blogin:$"),
    Marker("shell-prompt", READY, r"^\S*\s?[#$]$"),
    Marker("power-down", SHUTDOWN, r"reboot: Power down"),
    Marker("restart", SHUTDOWN, r"reboot: Restarting system"),
    # Countdowns. EDK2's UEFI shell before startup.nsh, EDK2's boot manager menu,
    # U-Boot's autoboot and GRUB's menu timeout each rewrite the count in place.
    Marker("edk2-shell-countdown", WAIT, r"Press ESC in +\d+ +seconds?"),
    Marker("edk2-boot-countdown", WAIT, r"default boot selection will start in +\d+ +seconds?"),
    Marker("u-boot-autoboot", WAIT, r"Hit any key to stop autoboot: *\d+"),
    Marker("grub-timeout", WAIT, r"will be (?:executed|booted) automatically in +\d+ *s"),
)


def merge_markers(base: list[Marker], document: Any, source: str) -> list[Marker]:
    """Apply a marker override document to a marker list and return the new list.

    `document` is a list of marker entries or a mapping with `markers` (that
    list) and `defaults` (false drops every marker of `base` first). An entry
    with the name of an existing marker replaces it, and keeps its role unless
    the entry gives one. A new entry without a role is a milestone, and
    `enabled: false` removes a marker. Raise UsageError naming `source` and the
    entry for anything invalid.
    """
    if isinstance(document, dict):
        unknown = set(document) - {"markers", "defaults"}
        if unknown:
            raise UsageError(
                f"{source}: unknown key {sorted(unknown)[0]!r}; a marker file has `markers` "
                "(a list) and optionally `defaults` (true or false)"
            )
        keep_defaults = document.get("defaults", True)
        if not isinstance(keep_defaults, bool):
            raise UsageError(f"{source}: `defaults` must be true or false, not {keep_defaults!r}")
        entries = document.get("markers") or []
        markers = list(base) if keep_defaults else []
    elif isinstance(document, list):
        entries = document
        markers = list(base)
    elif document is None:
        return list(base)
    else:
        raise UsageError(f"{source}: expected a list of markers or a mapping with `markers`")
    if not isinstance(entries, list):
        raise UsageError(f"{source}: `markers` must be a list of entries with name, role, pattern")

    for position, entry in enumerate(entries, start=1):
        markers = _apply_entry(markers, entry, f"{source}: marker {position}")
    return markers


def _apply_entry(markers: list[Marker], entry: Any, where: str) -> list[Marker]:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a mapping with name, role and pattern, got {entry!r}")
    unknown = set(entry) - {"name", "role", "pattern", "enabled"}
    if unknown:
        raise UsageError(
            f"{where}: unknown key {sorted(unknown)[0]!r}; use name, role, pattern, enabled"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise UsageError(f"{where}: invalid name {name!r}; use letters, digits, '-', '_' and '.'")
    existing = next((marker for marker in markers if marker.name == name), None)
    remaining = [marker for marker in markers if marker.name != name]

    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise UsageError(f"{where} ({name}): `enabled` must be true or false, not {enabled!r}")
    if not enabled:
        if existing is None:
            log.warning("%s: marker %s is disabled but was not defined", where, name)
        return remaining

    role = entry.get("role", existing.role if existing else MILESTONE)
    if role not in ROLES:
        raise UsageError(f"{where} ({name}): invalid role {role!r}; use one of {', '.join(ROLES)}")
    pattern = entry.get("pattern", existing.pattern if existing else None)
    if not isinstance(pattern, str) or not pattern:
        raise UsageError(f"{where} ({name}): missing `pattern` (a Python regular expression)")
    try:
        _compile(pattern)
    except re.error as err:
        raise UsageError(f"{where} ({name}): invalid pattern {pattern!r}: {err}") from err

    replacement = Marker(name, role, pattern)
    if existing is None:
        return remaining + [replacement]
    return [replacement if marker.name == name else marker for marker in markers]


def load_marker_file(path: str | Path, base: list[Marker] | None = None) -> list[Marker]:
    """Read a YAML marker file and apply it to `base` (the built-in markers by default)."""
    path = Path(path)
    start = list(DEFAULT_MARKERS) if base is None else base
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"cannot read marker file {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise UsageError(
            f"marker file {path} is not UTF-8 text ({err}); give a YAML file of markers"
        ) from err
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{line}: invalid YAML in marker file: {err}") from err
    return merge_markers(start, document, str(path))


def target_markers(
    options: dict[str, Any],
    target_name: str,
    base: list[Marker],
    file_markers: list[dict[str, str]] | None = None,
) -> list[Marker]:
    """Apply a target's markers to `base`.

    `file_markers` are the entries of the target file's `markers` key (name and
    pattern). The `timing.markers` option (nested or dotted key) is applied
    after them, and its entries may also set roles.
    """
    markers = base
    if file_markers:
        markers = merge_markers(markers, list(file_markers), f"target {target_name} markers")
    timing = options.get("timing")
    document = timing.get("markers") if isinstance(timing, dict) else None
    if document is None:
        document = options.get("timing.markers")
    if document is None:
        return markers
    return merge_markers(markers, document, f"target {target_name} option timing.markers")


_PROMPT_END = re.compile(r"(?:\\s\*| \*| )*(?:\$|\\Z)?$")


def prompt_markers(prompts: dict[str, str]) -> list[Marker]:
    """Turn a target's Linux shell and login prompts into `ready` markers.

    Prompts are written for the console stream (`login: *$`); transcript lines
    have trailing blanks stripped, so trailing blanks and the end anchor are
    replaced by `$`.
    """
    markers = []
    for key in ("linux_shell", "login"):
        prompt = prompts.get(key)
        if prompt:
            pattern = _PROMPT_END.sub("", prompt) + "$"
            markers.append(extra_ready_marker(pattern, f"target-{key.replace('_', '-')}"))
    return markers


def extra_ready_marker(pattern: str, name: str = "target-prompt") -> Marker:
    """Build a `ready` marker from a prompt regular expression given by the user or target."""
    try:
        _compile(pattern)
    except re.error as err:
        raise UsageError(f"invalid prompt pattern {pattern!r}: {err}") from err
    return Marker(name, READY, pattern)
