"""Compliance profiles: YAML files that pick checks, set their parameters and waive known gaps.

A profile file has these keys:

    name: sbsa-l3
    title: Arm SBSA level 3
    spec: Arm SBSA 7.1 (DEN0029)
    extends: [bsa, sbbr]          # one name or a list; later ones win
    checks:
      cpu.gic_version: {min_version: 3, level: mandatory, severity: high}
      uart.spcr_present:          # no value: catalogue defaults
    waivers:
      watchdog.sbsa_generic:
        reason: the board has no generic watchdog
        until: 2027-06-30         # optional; after it the check fails again
        reference: JIRA-123       # optional

In a check entry, `level` and `severity` are settings, and every other key
must be one of the check's parameters. Errors name the file and line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from armcheck.checks import CATALOGUE, LEVELS, SEVERITIES, ordered_ids
from armcheck.errors import ProfileError
from armcheck.results import CheckResult, Status

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "profiles"
PROFILE_KEYS = ("name", "title", "spec", "extends", "checks", "waivers", "markers")
WAIVER_KEYS = ("reason", "until", "reference")
SETTING_KEYS = ("level", "severity")


@dataclass
class CheckSetting:
    """A check as a profile runs it: its level, severity, parameters and where they were set."""

    check_id: str
    level: str
    severity: str
    params: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class Waiver:
    """A known gap: a check whose failure is reported as waived, with its reason."""

    check_id: str
    reason: str
    until: date | None = None
    reference: str = ""
    origin: str = ""

    def expired(self, today: date) -> bool:
        return self.until is not None and self.until < today

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "reference": self.reference,
        }


@dataclass
class Profile:
    """A resolved profile: the checks to run and the waivers, after `extends`."""

    name: str
    title: str = ""
    spec: str = ""
    path: str = ""
    extends: list[str] = field(default_factory=list)
    checks: dict[str, CheckSetting] = field(default_factory=dict)
    waivers: dict[str, Waiver] = field(default_factory=dict)
    # NOTE: `markers` (boot-stage markers a profile adds for timing) is loaded
    # and merged, but the timing code does not read it yet.
    markers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "spec": self.spec,
            "path": self.path,
            "extends": self.extends,
            "checks": {
                check_id: {
                    "level": setting.level,
                    "severity": setting.severity,
                    "params": {**CATALOGUE[check_id].defaults, **setting.params},
                    "origin": setting.origin,
                }
                for check_id, setting in ((i, self.checks[i]) for i in ordered_ids(self.checks))
            },
            "waivers": {
                check_id: {**waiver.to_json(), "origin": waiver.origin}
                for check_id, waiver in sorted(self.waivers.items())
            },
        }


def builtin_profiles() -> list[str]:
    """Return the names of the profiles shipped with armcheck."""
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def find_profile(name_or_path: str, relative_to: Path | None = None) -> Path:
    """Return the file of a profile given by name or path; raise ProfileError if none exists."""
    candidate = Path(name_or_path)
    looks_like_path = candidate.suffix in (".yaml", ".yml") or "/" in name_or_path
    if looks_like_path:
        if relative_to is not None and not candidate.is_absolute():
            near = relative_to / candidate
            if near.is_file():
                return near
        if candidate.is_file():
            return candidate
        raise ProfileError(f"profile file {name_or_path} not found")
    if relative_to is not None:
        for suffix in (".yaml", ".yml"):
            near = relative_to / f"{name_or_path}{suffix}"
            if near.is_file():
                return near
    builtin = BUILTIN_DIR / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    raise ProfileError(
        f"unknown profile {name_or_path!r}: use one of {', '.join(builtin_profiles())} "
        "or the path of a YAML file"
    )


def load_profile(name_or_path: str) -> Profile:
    """Load a profile by built-in name or file path and resolve its `extends` chain."""
    return _load(find_profile(name_or_path), [])


def _load(path: Path, chain: list[Path]) -> Profile:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(item) for item in chain + [resolved])
        raise ProfileError(f"{path}: extends forms a cycle: {cycle}")
    document, node = _read_yaml(path)
    where = _Marks(path, node)

    unknown = [key for key in document if key not in PROFILE_KEYS]
    if unknown:
        raise ProfileError(
            f"{where.key(unknown[0])}: unknown key {unknown[0]!r}; "
            f"a profile has {', '.join(PROFILE_KEYS)}"
        )
    extends = document.get("extends") or []
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list) or not all(isinstance(item, str) for item in extends):
        raise ProfileError(f"{where.key('extends')}: extends must be a name or a list of names")

    profile = Profile(name=str(document.get("name") or path.stem), path=str(path))
    for parent_name in extends:
        try:
            parent_path = find_profile(parent_name, relative_to=path.parent)
        except ProfileError as err:
            raise ProfileError(f"{where.key('extends')}: {err}") from err
        parent = _load(parent_path, chain + [resolved])
        _merge(profile, parent)
    profile.extends = list(extends)
    profile.title = str(document.get("title") or profile.title or "")
    profile.spec = str(document.get("spec") or profile.spec or "")
    if isinstance(document.get("markers"), dict):
        profile.markers.update(document["markers"])

    _read_checks(profile, document.get("checks"), where)
    _read_waivers(profile, document.get("waivers"), where)
    log.debug(
        "loaded profile %s from %s: %d checks, %d waivers",
        profile.name,
        path,
        len(profile.checks),
        len(profile.waivers),
    )
    return profile


def _check_dates(loader: yaml.SafeLoader, node: yaml.Node, path: Path) -> None:
    """Raise ProfileError at the line of a value that YAML reads as a date but is no date.

    PyYAML turns `2027-13-01` into a date and raises a bare ValueError, with no
    line, when the month or day is out of range.
    """
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _check_dates(loader, key, path)
            _check_dates(loader, value, path)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_dates(loader, item, path)
    elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
        try:
            loader.construct_yaml_timestamp(node)
        except ValueError as err:
            raise ProfileError(
                f"{path}:{node.start_mark.line + 1}: invalid date {node.value!r} ({err}); "
                "write dates as YYYY-MM-DD"
            ) from err


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(f"cannot read profile {path}: {err}") from err
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_dates(loader, node, path)
        document = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as err:
        raise ProfileError(f"{path}: invalid YAML: {err}") from err
    finally:
        loader.dispose()
    if not isinstance(document, dict) or node is None:
        raise ProfileError(f"{path}: a profile must be a mapping with name, checks and waivers")
    return document, node


class _Marks:
    """Line lookups in a profile's YAML node tree, for error messages."""

    def __init__(self, path: Path, root: yaml.Node) -> None:
        self.path = path
        self.root = root

    def _find(self, node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == key:
                    return key_node, value_node
        return None

    def at(self, *keys: str) -> str:
        """Return `file:line` of the deepest of the nested `keys` found, such as a check's field."""
        node: yaml.Node = self.root
        mark = self.root.start_mark
        for key in keys:
            found = self._find(node, key)
            if found is None:
                break
            mark = found[0].start_mark
            node = found[1]
        return f"{self.path}:{mark.line + 1}"

    def key(self, key: str, section: str | None = None) -> str:
        """Return `file:line` of `key` at the top level or inside `section`."""
        node: yaml.Node | None = self.root
        if section is not None:
            found = self._find(self.root, section)
            node = found[1] if found else None
        found = self._find(node, key) if node is not None else None
        mark = found[0].start_mark if found else self.root.start_mark
        return f"{self.path}:{mark.line + 1}"


def _merge(profile: Profile, parent: Profile) -> None:
    """Merge `parent` into `profile`: later parents override settings and parameters."""
    for check_id, setting in parent.checks.items():
        current = profile.checks.get(check_id)
        if current is None:
            profile.checks[check_id] = CheckSetting(
                check_id, setting.level, setting.severity, dict(setting.params), setting.origin
            )
        else:
            current.level, current.severity = setting.level, setting.severity
            current.params.update(setting.params)
            current.origin = setting.origin
    profile.waivers.update(parent.waivers)
    profile.markers.update(parent.markers)
    profile.title = profile.title or parent.title
    profile.spec = profile.spec or parent.spec


def _read_checks(profile: Profile, checks: Any, where: _Marks) -> None:
    if checks is None:
        return
    if not isinstance(checks, dict):
        raise ProfileError(f"{where.key('checks')}: checks must map check ids to settings")
    for check_id, entry in checks.items():
        origin = where.key(str(check_id), "checks")
        check = CATALOGUE.get(str(check_id))
        if check is None:
            raise ProfileError(
                f"{origin}: unknown check id {check_id!r}; "
                "`armcheck profiles --checks` lists the check ids"
            )
        entry = entry or {}
        if not isinstance(entry, dict):
            raise ProfileError(f"{origin}: settings of {check_id} must be a mapping")
        setting = profile.checks.get(check_id) or CheckSetting(
            check_id, check.level, check.severity
        )
        for key, value in entry.items():
            # Errors about one setting point at its own line.
            field_origin = where.at("checks", str(check_id), str(key))
            if key == "level":
                setting.level = _choice(value, LEVELS, "level", field_origin)
            elif key == "severity":
                setting.severity = _choice(value, SEVERITIES, "severity", field_origin)
            elif key in check.defaults:
                setting.params[key] = _parameter(check.defaults[key], key, value, field_origin)
                if key in check.choices and setting.params[key] not in check.choices[key]:
                    allowed = ", ".join(str(choice) for choice in check.choices[key])
                    raise ProfileError(
                        f"{field_origin}: invalid {key} {value!r} for {check_id}; "
                        f"use one of {allowed}"
                    )
            else:
                names = ", ".join(list(SETTING_KEYS) + sorted(check.defaults))
                raise ProfileError(
                    f"{field_origin}: {check_id} has no parameter {key!r}; it takes {names}"
                )
        setting.origin = origin
        profile.checks[check_id] = setting


def _parameter(default: Any, key: str, value: Any, origin: str) -> Any:
    """Return `value` if it has the type of the parameter's default; raise ProfileError if not."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        valid = isinstance(value, bool)
        kind = "true or false"
    elif isinstance(default, int):
        valid = isinstance(value, int) and not isinstance(value, bool)
        kind = "an integer"
    elif isinstance(default, str):
        valid = isinstance(value, (str, int, float)) and not isinstance(value, bool)
        kind = "a string"
    elif isinstance(default, list):
        valid = (
            isinstance(value, list) and all(isinstance(item, type(default[0])) for item in value)
            if default
            else isinstance(value, list)
        )
        kind = f"a list like {default!r}"
    else:
        valid, kind = True, ""
    if not valid:
        raise ProfileError(f"{origin}: parameter {key} must be {kind}, not {value!r}")
    return str(value) if isinstance(default, str) else value


def _choice(value: Any, allowed: tuple[str, ...], field_name: str, origin: str) -> str:
    if value not in allowed:
        raise ProfileError(
            f"{origin}: invalid {field_name} {value!r}; use one of {', '.join(allowed)}"
        )
    return str(value)


def _read_waivers(profile: Profile, waivers: Any, where: _Marks) -> None:
    if waivers is None:
        return
    if not isinstance(waivers, dict):
        raise ProfileError(f"{where.key('waivers')}: waivers must map check ids to a reason")
    for check_id, entry in waivers.items():
        origin = where.key(str(check_id), "waivers")
        if str(check_id) not in CATALOGUE:
            raise ProfileError(f"{origin}: waiver for unknown check id {check_id!r}")
        if check_id not in profile.checks:
            raise ProfileError(f"{origin}: waiver for {check_id}, which this profile does not run")
        if not isinstance(entry, dict) or not str(entry.get("reason") or "").strip():
            raise ProfileError(f"{origin}: waiver for {check_id} needs a `reason`")
        unknown = [key for key in entry if key not in WAIVER_KEYS]
        if unknown:
            raise ProfileError(
                f"{origin}: unknown waiver key {unknown[0]!r}; use {', '.join(WAIVER_KEYS)}"
            )
        until = entry.get("until")
        if until is not None and not isinstance(until, date):
            raise ProfileError(
                f"{where.at('waivers', str(check_id), 'until')}: waiver `until` {until!r} "
                "is not a date (YYYY-MM-DD)"
            )
        profile.waivers[check_id] = Waiver(
            check_id, str(entry["reason"]).strip(), until, str(entry.get("reference") or ""), origin
        )


def apply_profile(result: CheckResult, profile: Profile, today: date) -> CheckResult:
    """Apply the profile's level, severity and waiver for this check to `result`."""
    setting = profile.checks.get(result.check_id)
    if setting is not None:
        result.level, result.severity = setting.level, setting.severity
        if setting.level == "recommended" and result.status == Status.FAILED:
            result.status = Status.WARNING

    waiver = profile.waivers.get(result.check_id)
    if waiver is None:
        return result
    result.waiver = waiver.to_json()
    reference = f" ({waiver.reference})" if waiver.reference else ""
    if result.status in (Status.FAILED, Status.WARNING):
        if waiver.until is not None and waiver.expired(today):
            result.status = Status.FAILED
            result.message = f"waiver expired on {waiver.until.isoformat()}: {result.message}"
            result.reason = f"expired waiver: {waiver.reason}{reference}"
        else:
            result.status = Status.WAIVED
            result.reason = f"{waiver.reason}{reference}"
            result.message = f"waived: {result.message}"
    elif result.status == Status.PASSED:
        result.message += f" (waived in the profile, but passed: the waiver can go{reference})"
    return result
