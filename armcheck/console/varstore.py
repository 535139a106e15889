"""A prepared edk2 variable store, with the UEFI shell's start options set once.

edk2's shell reads the non-volatile variable `ShellOpt` (under the vendor
GUID of the shell's own variables) and puts its text in front of its command
line. With `-nostartup` the shell skips its startup.nsh countdown and shows
its prompt at once. The countdown cannot be cut short from the console: the
shell stalls a whole second before it reads the first key (ShellPkg's
DoStartupScript), so each run would lose that second.

Debian's variable store template is blank, and edk2 formats it on each first
boot, which costs time as well. So armcheck boots the firmware once with a
copy of the template, sets `ShellOpt` from the shell with `setvar`, reads it
back and powers off with `reset -s`. It keeps that store in its cache folder,
keyed by the firmware files, the qemu binary and the options, and later runs
copy it. When the preparation fails, the run goes on with the blank
template, and the driver ends the countdown with a key, as it does on a board.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import types
from pathlib import Path

from armcheck.console.firmware import UefiFirmware
from armcheck.errors import ArmcheckError

log = logging.getLogger(__name__)

# The vendor GUID of the variables the UEFI shell keeps (gShellVariableGuid).
SHELL_VARIABLE_GUID = "158DEF5A-F656-419C-B027-7A3192C079D2"
DEFAULT_SHELL_OPTIONS = "-nostartup"
# Bump when the way a store is prepared changes, so old stores are not used.
PREPARATION_VERSION = 1
PREPARE_TIMEOUT = 180.0
BLOCK = 1 << 20
# A row of the data that `setvar NAME -guid GUID` shows: hex pairs.
HEX_BYTES = re.compile(r"^(?:[0-9A-F]{2} )*[0-9A-F]{2}\s*$")


class PreparationError(ArmcheckError):
    """The firmware could not be booted to its shell to set its options."""


def cache_dir() -> Path:
    """Return the folder for prepared stores: under $XDG_CACHE_HOME/armcheck."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "armcheck" / "varstore"


def shell_options_data(options: str) -> bytes:
    """Return `options` as the shell reads them: UCS-2, little-endian, NUL-terminated."""
    return (options + "\0").encode("utf-16-le")


def store_key(uefi: UefiFirmware, binary: str, options: str) -> str:
    """Return a key that changes when the firmware, the qemu binary or the options change."""

    def identity(path: Path | str | None) -> list[object]:
        if path is None:
            return [None]
        try:
            stat = Path(path).stat()
        except OSError:
            return [str(path)]
        return [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns]

    parts = {
        "version": PREPARATION_VERSION,
        "code": identity(uefi.code),
        "template": identity(uefi.vars_template),
        "qemu": identity(shutil.which(binary) or binary),
        "options": options,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def variable_store(
    uefi: UefiFirmware,
    binary: str,
    options: str,
    folder: Path | None = None,
    prepare_missing: bool = True,
) -> Path:
    """Return the variable store template a run should copy.

    With no shell options, or a template that is not a raw file, that is the
    firmware's own template. Otherwise it is the prepared store, made on the
    first call (one boot of the firmware) and taken from `folder` after.
    With `prepare_missing` False, a store not prepared yet gives the template.
    """
    if not options or uefi.vars_format != "raw":
        return uefi.vars_template
    folder = folder or cache_dir()
    prepared = folder / f"vars-{store_key(uefi, binary, options)}.fd"
    if prepared.is_file():
        return prepared
    if not prepare_missing:
        return uefi.vars_template
    print(
        f"armcheck: preparing edk2's variable store with UEFI shell options {options!r} "
        f"(once per firmware build, about 5 s): {prepared}",
        file=sys.stderr,
    )
    try:
        prepare(uefi, binary, options, prepared)
    except (ArmcheckError, OSError) as err:
        log.warning(
            "could not prepare edk2's variable store (%s); going on with the blank template, "
            "so the shell's startup.nsh countdown is answered instead",
            err,
        )
        return uefi.vars_template
    return prepared


def prepare(uefi: UefiFirmware, binary: str, options: str, destination: Path) -> None:
    """Boot the firmware with a blank store, set `ShellOpt` to `options`, keep the store."""
    # Imported here: the qemu transport imports this module for variable_store().
    from armcheck.console.base import Console
    from armcheck.console.qemu import QemuTransport
    from armcheck.shells import UefiShell

    data = shell_options_data(options)
    # The firmware's own template (empty uefi_shell_options), no drives, no guest.
    target = types.SimpleNamespace(
        name="variable store preparation",
        qemu={"binary": binary, "firmware": "edk2", "uefi_shell_options": ""},
    )
    transport = QemuTransport(target)
    console = Console(transport)
    console.open()
    try:
        shell = UefiShell(console)
        shell.reach(PREPARE_TIMEOUT)
        shell.run(
            f"setvar ShellOpt -guid {SHELL_VARIABLE_GUID} -bs -nv ={data.hex().upper()}",
            PREPARE_TIMEOUT,
        )
        output = shell.run(f"setvar ShellOpt -guid {SHELL_VARIABLE_GUID}", PREPARE_TIMEOUT)
        read_back = shown_bytes(output.splitlines())
        if read_back != data:
            raise PreparationError(
                f"ShellOpt reads back as {read_back.hex() or 'nothing'}, expected {data.hex()}"
            )
        console.sendline("reset -s")
        assert transport.process is not None
        transport.process.wait(timeout=PREPARE_TIMEOUT)
        if transport.folder is None:
            raise PreparationError("qemu's folder is gone before the store was kept")
        destination.parent.mkdir(parents=True, exist_ok=True)
        # A temporary name, then a rename: a concurrent run reads the whole file or none.
        handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".part")
        os.close(handle)
        try:
            copy_sparse(transport.folder / "vars.fd", Path(temporary))
            os.replace(temporary, destination)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    finally:
        console.close()


def shown_bytes(lines: list[str]) -> bytes:
    """Return the data bytes `setvar NAME -guid GUID` prints, as rows of hex pairs."""
    data = bytearray()
    for line in lines:
        if HEX_BYTES.match(line.strip()):
            data += bytes.fromhex(line)
    return bytes(data)


def copy_sparse(source: Path, destination: Path, size: int = 0) -> None:
    """Copy `source`, padded with zeros to `size`, skipping blocks of zeros.

    qemu's virt machine maps both pflash devices with the same size, so a
    variable store shorter than the code image must be padded. Skipping zero
    blocks leaves a sparse file: Debian's 64 MiB template is mostly zeros.
    """
    zeros = bytes(BLOCK)
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        while True:
            chunk = reader.read(BLOCK)
            if not chunk:
                break
            if chunk == zeros[: len(chunk)]:
                writer.seek(len(chunk), os.SEEK_CUR)
            else:
                writer.write(chunk)
        writer.truncate(max(size, reader.tell()))
