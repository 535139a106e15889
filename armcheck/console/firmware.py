"""Find qemu firmware the way libvirt does: through qemu's firmware descriptors.

qemu ships a JSON descriptor per firmware build (the interop format in qemu's
docs/interop/firmware.json). Descriptors live in three folders, searched
in this order of precedence:

1. ~/.config/qemu/firmware (or $XDG_CONFIG_HOME/qemu/firmware), the user's own;
2. /etc/qemu/firmware, the administrator's;
3. /usr/share/qemu/firmware, the distribution's.

A file name in a folder of higher precedence hides the same name further
down (an empty file there disables a descriptor). The remaining descriptors
are sorted by file name, so `40-...` comes before `60-...`, and the first one
that fits wins. For armcheck a descriptor fits when it describes `uefi`
firmware for architecture aarch64 and a `virt-*` machine, with a flash
mapping (executable plus nvram-template). Descriptors with the
`secure-boot` or `enrolled-keys` feature are taken only when nothing else
fits, because enrolled keys stop an unsigned shell or kernel from starting.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from armcheck.errors import TargetError

log = logging.getLogger(__name__)

SYSTEM_DESCRIPTOR_DIRS = (Path("/etc/qemu/firmware"), Path("/usr/share/qemu/firmware"))
UBOOT_QEMU_ARM64 = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")
SECURE_FEATURES = frozenset({"secure-boot", "enrolled-keys"})


@dataclass(frozen=True)
class UefiFirmware:
    """A UEFI build for qemu: the read-only code and the variable store template."""

    descriptor: Path
    description: str
    code: Path
    code_format: str
    vars_template: Path
    vars_format: str
    features: tuple[str, ...]


def descriptor_dirs() -> list[Path]:
    """Return the descriptor folders, highest precedence first."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path(config_home) / "qemu" / "firmware", *SYSTEM_DESCRIPTOR_DIRS]


def list_descriptors(dirs: Sequence[Path] | None = None) -> list[Path]:
    """Return the effective descriptor files, sorted by file name.

    A name found in an earlier folder hides the same name in later ones.
    """
    chosen: dict[str, Path] = {}
    for folder in dirs if dirs is not None else descriptor_dirs():
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix == ".json" and entry.name not in chosen:
                chosen[entry.name] = entry
    return [chosen[name] for name in sorted(chosen)]


def find_uefi_firmware(
    machine: str = "virt",
    architecture: str = "aarch64",
    dirs: Sequence[Path] | None = None,
) -> UefiFirmware:
    """Pick the UEFI firmware for `machine`, or raise TargetError saying what to install."""
    fallback: UefiFirmware | None = None
    for path in list_descriptors(dirs):
        firmware = _read_descriptor(path, machine, architecture)
        if firmware is None:
            continue
        if SECURE_FEATURES.isdisjoint(firmware.features):
            log.debug("UEFI firmware from %s: %s", path, firmware.code)
            return firmware
        if fallback is None:
            fallback = firmware
    if fallback is not None:
        log.warning(
            "only Secure Boot UEFI firmware was found (%s); unsigned images may not start",
            fallback.descriptor,
        )
        return fallback
    searched = ", ".join(str(folder) for folder in (dirs or descriptor_dirs()))
    raise TargetError(
        f"no UEFI firmware descriptor for {architecture} machine {machine!r} in {searched}: "
        "install the Debian package qemu-efi-aarch64 (apt-get install qemu-efi-aarch64), "
        "or give the firmware as a path in the target's qemu options"
    )


def find_uboot() -> Path:
    """Return the U-Boot image for qemu's arm64 virt machine, or raise TargetError."""
    if UBOOT_QEMU_ARM64.is_file():
        return UBOOT_QEMU_ARM64
    raise TargetError(
        f"U-Boot for qemu arm64 not found at {UBOOT_QEMU_ARM64}: install the Debian "
        "package u-boot-qemu (apt-get install u-boot-qemu)"
    )


def _read_descriptor(path: Path, machine: str, architecture: str) -> UefiFirmware | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        log.warning("skipped firmware descriptor %s: %s", path, err.strerror)
        return None
    except UnicodeDecodeError as err:
        log.warning("skipped firmware descriptor %s: not UTF-8 text (%s)", path, err)
        return None
    if not text.strip():
        # An empty file masks the descriptor of the same name in a lower folder.
        return None
    try:
        data = json.loads(text)
    except ValueError as err:
        log.warning("skipped firmware descriptor %s: invalid JSON (%s)", path, err)
        return None
    if not isinstance(data, dict) or "uefi" not in data.get("interface-types", []):
        return None
    if not _fits(data.get("targets", []), machine, architecture):
        return None
    return _flash_mapping(path, data)


def _fits(targets: Any, machine: str, architecture: str) -> bool:
    if not isinstance(targets, list):
        return False
    for entry in targets:
        if not isinstance(entry, dict) or entry.get("architecture") != architecture:
            continue
        patterns = entry.get("machines", [])
        # Descriptors name versioned machine types (virt-7.2) with globs such as
        # virt-*; the bare name `virt` is the newest of them.
        names = {machine, f"{machine}-0"} if "-" not in machine else {machine}
        if any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns):
            return True
    return False


def _flash_mapping(path: Path, data: dict[str, Any]) -> UefiFirmware | None:
    mapping = data.get("mapping")
    if not isinstance(mapping, dict) or mapping.get("device") != "flash":
        return None
    executable = mapping.get("executable")
    template = mapping.get("nvram-template")
    if not isinstance(executable, dict) or not isinstance(template, dict):
        return None
    code = Path(str(executable.get("filename", "")))
    variables = Path(str(template.get("filename", "")))
    if not code.is_file() or not variables.is_file():
        log.debug("skipped firmware descriptor %s: %s or %s is missing", path, code, variables)
        return None
    return UefiFirmware(
        descriptor=path,
        description=str(data.get("description", "")),
        code=code,
        code_format=str(executable.get("format", "raw")),
        vars_template=variables,
        vars_format=str(template.get("format", "raw")),
        features=tuple(str(feature) for feature in data.get("features", [])),
    )
