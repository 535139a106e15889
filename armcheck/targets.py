"""Targets: how to reach one board (or qemu guest), power it and log in.

TARGET on the command line is one of:

- a built-in name (`qemu-virt`, the default);
- a YAML target file;
- a serial device path (`/dev/ttyUSB0`, `/dev/pts/3`);
- a pyserial URL (`rfc2217://host:port`, `socket://host:port`).

`resolve_target` turns that string into a `Target`. `open_console` powers it
on (where the target can be powered) and returns a Console whose capture
starts at time zero.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from armcheck.capture import CaptureWriter
from armcheck.console.base import Console, Transport
from armcheck.errors import TargetError

log = logging.getLogger(__name__)

DEFAULT_TARGET = "qemu-virt"
URL_SCHEMES = ("rfc2217://", "socket://", "loop://", "spy://")

# Console kinds a target can have.
QEMU = "qemu"
SERIAL = "serial"
COMMAND = "command"
REPLAY = "replay"

# Parity names, upper-cased, mapped to the one-letter codes that SerialSettings
# holds. pyserial's PARITY_* constants are these same letters.
PARITIES = {"N": "N", "NONE": "N", "E": "E", "EVEN": "E", "O": "O", "ODD": "O",
            "M": "M", "MARK": "M", "S": "S", "SPACE": "S"}  # fmt: skip


@dataclass
class SerialSettings:
    """pyserial settings for a device path or URL."""

    port: str
    baud: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False


@dataclass
class Target:
    """One board and how to reach it."""

    name: str
    kind: str
    serial: SerialSettings | None = None
    command: list[str] = field(default_factory=list)
    replay: str | None = None
    replay_speed: float = 1.0
    qemu: dict[str, Any] = field(default_factory=dict)
    power: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    char_delay: float = 0.0
    source: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # How to boot: `uefi_shell_keys` to send, the boot manager `entry` label,
    # `uefi_shell_command` that starts the OS, `uefi_shell` false when the firmware has none.
    boot: dict[str, Any] = field(default_factory=dict)
    # Seconds per stage (firmware, uefi-shell, command, linux, linux-shell, power-off),
    # and `total` for one whole boot.
    timeouts: dict[str, float] = field(default_factory=dict)
    # Extra timing markers: [{"name": ..., "pattern": REGEX}].
    markers: list[dict[str, str]] = field(default_factory=list)


def resolve_target(spec: str | None, baud: int = 115200) -> Target:
    """Turn a TARGET argument into a Target, or raise TargetError saying what TARGET may be."""
    if spec is None or spec == "":
        spec = DEFAULT_TARGET
    if spec.startswith(URL_SCHEMES):
        return Target(name=spec, kind=SERIAL, serial=SerialSettings(port=spec, baud=baud))
    if spec.endswith((".yaml", ".yml")) and Path(spec).is_file():
        from armcheck.target_files import load_target_file

        return load_target_file(Path(spec))
    if spec.startswith("/dev/") or (os.path.exists(spec) and _is_char_device(spec)):
        return Target(name=spec, kind=SERIAL, serial=SerialSettings(port=spec, baud=baud))
    from armcheck.target_files import builtin_target

    target = builtin_target(spec)
    if target is not None:
        return target
    if spec.endswith((".yaml", ".yml")):
        raise TargetError(
            f"target file not found: {spec}; give the path of an existing YAML target file "
            "(see docs/targets.md) or a built-in name (see `armcheck targets`)"
        )
    raise TargetError(
        f"unknown target {spec!r}: give a built-in name (see `armcheck targets`), a YAML "
        "target file, a serial device path such as /dev/ttyUSB0, or a URL such as "
        "rfc2217://host:port or socket://host:port"
    )


def _is_char_device(path: str) -> bool:
    import stat

    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def make_transport(target: Target) -> Transport:
    """Build the transport for a target's console kind (not yet opened)."""
    if target.kind == SERIAL:
        from armcheck.console.serial import SerialTransport

        assert target.serial is not None
        return SerialTransport(target.serial)
    if target.kind == COMMAND:
        from armcheck.console.command import CommandTransport

        return CommandTransport(target.command)
    if target.kind == REPLAY:
        from armcheck.console.replay import ReplayTransport

        assert target.replay is not None
        return ReplayTransport(target.replay, speed=target.replay_speed)
    if target.kind == QEMU:
        from armcheck.console.qemu import QemuTransport

        return QemuTransport(target)
    raise TargetError(f"target {target.name}: unknown console kind {target.kind!r}")


def open_console(target: Target, capture: CaptureWriter | None) -> Console:
    """Open the target's console and power it on; time zero is the power-on.

    For qemu the transport starts the process. For a board with a `power.on`
    (or `power.cycle`) command, the command runs after the console is open,
    so that the first byte is not missed. Without power control, time zero is the attach.
    """
    transport = make_transport(target)
    console = Console(transport, capture, char_delay=target.char_delay)
    console.open()
    from armcheck.console.power import power_on

    power_on(target, console)
    return console
