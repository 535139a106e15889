"""YAML target files and the built-in targets.

A target file describes one board: how to reach its console, how to power it,
how to log in, which prompts to expect, how to reach the UEFI shell, which
profile to check it against, and how long each stage may take. docs/targets.md
documents the format with examples. Every value is checked when the file is
loaded, and an error names the file, the line and the key, and says what is
allowed.

The built-in targets (`qemu-virt`, `qemu-virt-gicv3`, `qemu-virt-uboot`) are
target files shipped in the package folder armcheck/targets/.
"""

from __future__ import annotations

import logging
import shlex
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

from armcheck.console.keys import key_bytes
from armcheck.errors import TargetError, UsageError
from armcheck.targets import (
    COMMAND,
    PARITIES,
    QEMU,
    REPLAY,
    SERIAL,
    SerialSettings,
    Target,
)

log = logging.getLogger(__name__)

TOP_KEYS = (
    "name",
    "description",
    "console",
    "power",
    "credentials",
    "prompts",
    "boot",
    "profile",
    "char_delay",
    "timeouts",
    "markers",
)
CONSOLE_KINDS = ("serial", "command", "qemu", "replay")
SERIAL_KEYS = ("serial", "baud", "bytesize", "parity", "stopbits", "rtscts", "xonxoff")
QEMU_KEYS = (
    "binary",
    "machine",
    "machine_options",
    "cpu",
    "smp",
    "memory",
    "firmware",
    "kernel",
    "initrd",
    "append",
    "disk",
    "guest",
    "linux_boot",
    "uefi_shell_options",
    "extra_args",
)
POWER_ACTIONS = ("on", "off", "cycle")
CREDENTIAL_KEYS = ("user", "password", "password_env")
PROMPT_KEYS = ("uefi_shell", "linux_shell", "login", "password")
BOOT_KEYS = ("uefi_shell_keys", "uefi_shell_command", "entry", "menu_key", "uefi_shell")
TIMEOUT_STAGES = ("firmware", "uefi-shell", "command", "linux", "linux-shell", "power-off")
# `total` is the limit for one whole boot; `armcheck time` takes it as the per-pass timeout.
TIMEOUT_KEYS = (*TIMEOUT_STAGES, "total")
MARKER_KEYS = ("name", "pattern")


class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line = 0
    lines: dict[Any, int]


class _Sequence(list[Any]):
    """A YAML sequence that remembers the line of each item (1-based)."""

    line = 0
    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, keeping node marks so errors can name the line."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:bool":
            # YAML 1.1 reads the keys on, off, yes and no as booleans; power.on must stay "on".
            key: Any = key_node.value
        else:
            key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise TargetError(
                f"{loader.name}:{key_node.start_mark.line + 1}: duplicate key {key!r}; "
                "give each key once"
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    sequence = _Sequence(loader.construct_object(item, deep=True) for item in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Checker:
    """Reads values out of a parsed target file, raising TargetError with file and line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int, key: str, message: str) -> TargetError:
        return TargetError(f"{self.source}:{line}: {key}: {message}")

    def mapping(self, value: Any, key: str, line: int, allowed: tuple[str, ...]) -> _Mapping:
        if value is None:
            value = _Mapping()
            value.lines = {}
            value.line = line
        if not isinstance(value, _Mapping):
            raise self.fail(line, key, f"expected a mapping with keys {', '.join(allowed)}")
        for name in value:
            if name not in allowed:
                raise self.fail(
                    value.lines[name],
                    f"{key}.{name}" if key else str(name),
                    f"unknown key; allowed keys are {', '.join(allowed)}",
                )
        return value

    def string(self, parent: _Mapping, key: str, path: str, default: str | None = None) -> Any:
        if key not in parent:
            return default
        value = parent[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(parent.lines[key], path, f"expected a non-empty string, got {value!r}")
        return value

    def number(
        self,
        parent: _Mapping,
        key: str,
        path: str,
        default: float | None = None,
        minimum: float = 0.0,
        kind: Callable[[Any], Any] = float,
    ) -> Any:
        if key not in parent:
            return default
        value = parent[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(parent.lines[key], path, f"expected a number, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise self.fail(parent.lines[key], path, f"expected a whole number, got {value!r}")
        if value < minimum:
            raise self.fail(parent.lines[key], path, f"expected {minimum:g} or more, got {value!r}")
        return kind(value)

    def boolean(self, parent: _Mapping, key: str, path: str, default: bool = False) -> bool:
        if key not in parent:
            return default
        value = parent[key]
        if not isinstance(value, bool):
            raise self.fail(parent.lines[key], path, f"expected true or false, got {value!r}")
        return value

    def argv(self, parent: _Mapping, key: str, path: str) -> list[str]:
        value = parent[key]
        if isinstance(value, str):
            try:
                words = shlex.split(value)
            except ValueError as err:
                raise self.fail(
                    parent.lines[key], path, f"cannot split the command: {err}"
                ) from err
        elif isinstance(value, list) and all(
            isinstance(word, (str, int, float)) and not isinstance(word, bool) for word in value
        ):
            words = [str(word) for word in value]
        else:
            raise self.fail(
                parent.lines[key], path, "expected a command line string or a list of arguments"
            )
        if not words:
            raise self.fail(parent.lines[key], path, "the command is empty")
        return words


def _check_profile(check: _Checker, top: _Mapping, name: str, source: str) -> None:
    """Raise at the `profile:` line when it names no built-in profile and no profile file."""
    from armcheck.errors import ProfileError
    from armcheck.profiles import find_profile

    folder = Path(source).parent if Path(source).is_file() else None
    try:
        find_profile(name, folder)
    except ProfileError as err:
        raise check.fail(top.lines["profile"], "profile", str(err)) from err


def parse_target(data: Any, source: str, default_name: str) -> Target:
    """Turn a parsed target file into a Target, checking every value."""
    check = _Checker(source)
    top = check.mapping(data, "", 1, TOP_KEYS)
    name = check.string(top, "name", "name", default_name)
    console = check.mapping(
        top.get("console"),
        "console",
        top.lines.get("console", 1),
        (*CONSOLE_KINDS, *SERIAL_KEYS[1:], "speed", "char_delay"),
    )
    target = _parse_console(check, console, name)
    target.source = source
    target.options["description"] = check.string(top, "description", "description", "")
    target.power = _parse_power(check, top)
    target.credentials = _parse_credentials(check, top)
    target.prompts = _parse_prompts(check, top)
    target.boot = _parse_boot(check, top)
    target.profile = check.string(top, "profile", "profile")
    if target.profile is not None:
        _check_profile(check, top, target.profile, source)
    delay = check.number(console, "char_delay", "console.char_delay")
    if delay is None:
        delay = check.number(top, "char_delay", "char_delay", 0.0)
    target.char_delay = delay
    target.timeouts = _parse_timeouts(check, top)
    target.markers = _parse_markers(check, top)
    return target


def _parse_console(check: _Checker, console: _Mapping, name: str) -> Target:
    kinds = [kind for kind in CONSOLE_KINDS if kind in console]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        raise check.fail(
            console.line,
            "console",
            f"give exactly one of {', '.join(CONSOLE_KINDS)} (found {found})",
        )
    kind = kinds[0]
    extra = [key for key in console if key in SERIAL_KEYS[1:] and kind != "serial"]
    if extra:
        raise check.fail(
            console.lines[extra[0]],
            f"console.{extra[0]}",
            "serial settings apply only to a `serial` console",
        )
    if kind == "serial":
        return Target(name=name, kind=SERIAL, serial=_parse_serial(check, console))
    if kind == "command":
        return Target(
            name=name, kind=COMMAND, command=check.argv(console, "command", "console.command")
        )
    if kind == "replay":
        path = check.string(console, "replay", "console.replay")
        speed = check.number(console, "speed", "console.speed", 1.0)
        if speed <= 0:
            raise check.fail(console.lines["speed"], "console.speed", "expected more than 0")
        return Target(name=name, kind=REPLAY, replay=path, replay_speed=speed)
    qemu = check.mapping(console["qemu"], "console.qemu", console.lines["qemu"], QEMU_KEYS)
    return Target(name=name, kind=QEMU, qemu=_parse_qemu(check, qemu))


def _parse_serial(check: _Checker, console: _Mapping) -> SerialSettings:
    port = check.string(console, "serial", "console.serial")
    settings = SerialSettings(port=port)
    settings.baud = check.number(console, "baud", "console.baud", settings.baud, 1, int)
    settings.bytesize = check.number(console, "bytesize", "console.bytesize", 8, 5, int)
    if settings.bytesize > 8:
        raise check.fail(console.lines["bytesize"], "console.bytesize", "expected 5, 6, 7 or 8")
    parity = str(console.get("parity", "N")).upper()
    if parity not in PARITIES:
        raise check.fail(
            console.lines["parity"],
            "console.parity",
            f"unknown parity {console['parity']!r}; use none, even, odd, mark or space",
        )
    settings.parity = PARITIES[parity]
    stopbits = console.get("stopbits", 1)
    if stopbits not in (1, 1.5, 2):
        raise check.fail(console.lines["stopbits"], "console.stopbits", "expected 1, 1.5 or 2")
    settings.stopbits = stopbits
    settings.rtscts = check.boolean(console, "rtscts", "console.rtscts")
    settings.xonxoff = check.boolean(console, "xonxoff", "console.xonxoff")
    return settings


def _parse_qemu(check: _Checker, qemu: _Mapping) -> dict[str, Any]:
    from armcheck.console.qemu import LINUX_DIRECT, LINUX_SHELL

    options: dict[str, Any] = {}
    for key in ("binary", "machine", "cpu", "firmware", "kernel", "initrd", "disk"):
        value = check.string(qemu, key, f"console.qemu.{key}")
        if value is not None:
            options[key] = value
    for key in ("append", "uefi_shell_options"):
        if key in qemu:
            if not isinstance(qemu[key], str):
                raise check.fail(qemu.lines[key], f"console.qemu.{key}", "expected a string")
            options[key] = qemu[key]
    smp = check.number(qemu, "smp", "console.qemu.smp", None, 1, int)
    if smp is not None:
        options["smp"] = smp
    if "memory" in qemu:
        options["memory"] = _parse_memory(check, qemu)
    if "machine_options" in qemu:
        machine_options = qemu["machine_options"]
        if not isinstance(machine_options, dict):
            raise check.fail(
                qemu.lines["machine_options"],
                "console.qemu.machine_options",
                "expected a mapping such as {gic-version: 3}",
            )
        options["machine_options"] = {
            str(key): _qemu_value(value) for key, value in machine_options.items()
        }
    if "guest" in qemu:
        options["guest"] = check.boolean(qemu, "guest", "console.qemu.guest")
    if "linux_boot" in qemu:
        if qemu["linux_boot"] not in (LINUX_DIRECT, LINUX_SHELL):
            raise check.fail(
                qemu.lines["linux_boot"],
                "console.qemu.linux_boot",
                f"expected {LINUX_SHELL} (started from the UEFI shell) or "
                f"{LINUX_DIRECT} (qemu -kernel)",
            )
        options["linux_boot"] = qemu["linux_boot"]
    if "extra_args" in qemu:
        options["extra_args"] = check.argv(qemu, "extra_args", "console.qemu.extra_args")
    return options


def _parse_memory(check: _Checker, qemu: _Mapping) -> str:
    value = qemu["memory"]
    text = str(value).strip()
    digits = text[:-1] if text[-1:].upper() in ("M", "G") else text
    if isinstance(value, bool) or not digits.isdigit() or int(digits) == 0:
        raise check.fail(
            qemu.lines["memory"],
            "console.qemu.memory",
            f"expected a size in MiB such as 1024, or 1G, got {value!r}",
        )
    return text


def _qemu_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _parse_power(check: _Checker, top: _Mapping) -> dict[str, str]:
    power = check.mapping(top.get("power"), "power", top.lines.get("power", 1), POWER_ACTIONS)
    return {
        action: check.string(power, action, f"power.{action}")
        for action in POWER_ACTIONS
        if action in power
    }


def _parse_credentials(check: _Checker, top: _Mapping) -> dict[str, str]:
    credentials = check.mapping(
        top.get("credentials"), "credentials", top.lines.get("credentials", 1), CREDENTIAL_KEYS
    )
    if "password" in credentials and "password_env" in credentials:
        raise check.fail(
            credentials.lines["password_env"],
            "credentials.password_env",
            "give either password or password_env, not both",
        )
    result = {}
    for key in CREDENTIAL_KEYS:
        value = check.string(credentials, key, f"credentials.{key}")
        if value is not None:
            result[key] = value
    return result


def _parse_prompts(check: _Checker, top: _Mapping) -> dict[str, str]:
    import re

    prompts = check.mapping(top.get("prompts"), "prompts", top.lines.get("prompts", 1), PROMPT_KEYS)
    result = {}
    for key in PROMPT_KEYS:
        value = check.string(prompts, key, f"prompts.{key}")
        if value is None:
            continue
        try:
            re.compile(value)
        except re.error as err:
            raise check.fail(
                prompts.lines[key], f"prompts.{key}", f"invalid regular expression {value!r}: {err}"
            ) from err
        result[key] = value
    return result


def _parse_boot(check: _Checker, top: _Mapping) -> dict[str, Any]:
    boot = check.mapping(top.get("boot"), "boot", top.lines.get("boot", 1), BOOT_KEYS)
    result: dict[str, Any] = {}
    if "uefi_shell_keys" in boot:
        keys = boot["uefi_shell_keys"]
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise check.fail(
                boot.lines["uefi_shell_keys"],
                "boot.uefi_shell_keys",
                "expected a list of key names such as [ESC] or [F2, DOWN, ENTER]",
            )
        for key in keys:
            try:
                key_bytes(key)
            except UsageError as err:
                raise check.fail(
                    boot.lines["uefi_shell_keys"], "boot.uefi_shell_keys", str(err)
                ) from err
        result["uefi_shell_keys"] = list(keys)
    for key in ("uefi_shell_command", "menu_key"):
        value = check.string(boot, key, f"boot.{key}")
        if value is not None:
            result[key] = value
    if "entry" in boot:
        entry = boot["entry"]
        labels = [entry] if isinstance(entry, str) else entry
        if (
            not isinstance(labels, list)
            or not labels
            or not all(isinstance(label, str) and label.strip() for label in labels)
        ):
            raise check.fail(
                boot.lines["entry"],
                "boot.entry",
                "expected a menu entry label, or a list of labels to choose in turn "
                "such as [Boot Manager, EFI Internal Shell]",
            )
        result["entry"] = list(labels)
    if "menu_key" in result:
        try:
            key_bytes(result["menu_key"])
        except UsageError as err:
            raise check.fail(boot.lines["menu_key"], "boot.menu_key", str(err)) from err
    result["uefi_shell"] = check.boolean(boot, "uefi_shell", "boot.uefi_shell", True)
    return result


def _parse_timeouts(check: _Checker, top: _Mapping) -> dict[str, float]:
    timeouts = check.mapping(
        top.get("timeouts"), "timeouts", top.lines.get("timeouts", 1), TIMEOUT_KEYS
    )
    result = {}
    for stage in TIMEOUT_KEYS:
        value = check.number(timeouts, stage, f"timeouts.{stage}", None, 0.001)
        if value is not None:
            result[stage] = value
    return result


def _parse_markers(check: _Checker, top: _Mapping) -> list[dict[str, str]]:
    import re

    if "markers" not in top:
        return []
    markers = top["markers"]
    if not isinstance(markers, _Sequence):
        raise check.fail(
            top.lines["markers"], "markers", "expected a list of {name: ..., pattern: REGEX}"
        )
    result = []
    for index, item in enumerate(markers):
        path = f"markers[{index}]"
        entry = check.mapping(item, path, markers.lines[index], MARKER_KEYS)
        name = check.string(entry, "name", f"{path}.name")
        pattern = check.string(entry, "pattern", f"{path}.pattern")
        if name is None or pattern is None:
            raise check.fail(markers.lines[index], path, "a marker needs both name and pattern")
        try:
            re.compile(pattern)
        except re.error as err:
            raise check.fail(
                entry.lines["pattern"],
                f"{path}.pattern",
                f"invalid regular expression {pattern!r}: {err}",
            ) from err
        result.append({"name": name, "pattern": pattern})
    return result


def load_target_text(text: str, source: str, default_name: str) -> Target:
    """Parse target file text; `source` names it in errors."""
    loader = _LineLoader(text)
    loader.name = source
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise TargetError(f"{source}:{line}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:
        raise TargetError(f"{source}: invalid YAML: {err}") from err
    finally:
        loader.dispose()
    return parse_target(data, source, default_name)


def load_target_file(path: Path) -> Target:
    """Load and check a YAML target file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise TargetError(f"cannot read target file {path}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise TargetError(f"target file {path} is not UTF-8 text: {err}") from err
    return load_target_text(text, str(path), path.stem)


def builtin_names() -> list[str]:
    """Return the names of the built-in targets, sorted."""
    folder = resources.files("armcheck").joinpath("targets")
    return sorted(
        entry.name[: -len(".yaml")] for entry in folder.iterdir() if entry.name.endswith(".yaml")
    )


def builtin_text(name: str) -> str | None:
    """Return the YAML text of a built-in target, or None when there is no such target."""
    if name not in builtin_names():
        return None
    return (
        resources.files("armcheck").joinpath("targets").joinpath(f"{name}.yaml").read_text("utf-8")
    )


def builtin_target(name: str) -> Target | None:
    """Return a built-in target by name, or None."""
    text = builtin_text(name)
    if text is None:
        return None
    return load_target_text(text, f"built-in target {name}", name)
