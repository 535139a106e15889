"""`armcheck targets [NAME]`: list the built-in targets, or show one target resolved."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml

from armcheck.capture import SECRET_MASK
from armcheck.commands.options import baud_option
from armcheck.errors import ArmcheckError, UsageError
from armcheck.target_files import builtin_names, builtin_target
from armcheck.targets import QEMU, Target, resolve_target


@click.command("targets")
@click.argument("name", required=False)
@baud_option
def targets_command(name: str | None, baud: int) -> None:
    """List the built-in targets, or show NAME (a built-in, file, device or URL) as YAML."""
    if name is None:
        _list_builtins()
        return
    target = resolve_target(name, baud=baud)
    description = describe_target(target)
    click.echo(yaml.safe_dump(description, sort_keys=False, width=100), nl=False)
    error = description.get("resolved", {}).get("error")
    if error:
        # The target file is valid YAML but could not start: a usage error, as for `run`.
        raise UsageError(f"target {target.name} cannot start: {error}")


def _list_builtins() -> None:
    names = builtin_names()
    width = max(len(name) for name in names)
    for name in names:
        target = builtin_target(name)
        description = target.options.get("description", "") if target is not None else ""
        click.echo(f"{name:<{width}}  {description}")
    from armcheck.console.qemu import find_guest, missing_guest_message

    guest = find_guest()
    if guest is not None:
        click.echo(f"\nThe qemu targets boot the Linux guest in {guest.folder}.")
    else:
        click.echo(
            f"\nThe qemu targets need the Linux guest for the OS stage: {missing_guest_message()}."
        )
    click.echo("Show one with `armcheck targets NAME`; a YAML target file works the same way.")


def describe_target(target: Target) -> dict[str, Any]:
    """Return the target as plain data, with the password masked and qemu resolved."""
    data: dict[str, Any] = {"name": target.name, "source": target.source or "command line"}
    description = target.options.get("description")
    if description:
        data["description"] = description
    data["console"] = _console(target)
    for key in ("power", "prompts", "boot", "timeouts", "markers"):
        value = getattr(target, key)
        if value:
            data[key] = value
    if target.credentials:
        credentials = dict(target.credentials)
        if "password" in credentials:
            credentials["password"] = SECRET_MASK
        data["credentials"] = credentials
    if target.profile:
        data["profile"] = target.profile
    if target.char_delay:
        data["char_delay"] = target.char_delay
    if target.kind == QEMU:
        data["resolved"] = _resolve_qemu(target)
    return data


def _console(target: Target) -> dict[str, Any]:
    if target.serial is not None:
        serial = dataclasses.asdict(target.serial)
        serial["serial"] = serial.pop("port")
        return serial
    if target.command:
        return {"command": list(target.command)}
    if target.replay is not None:
        return {"replay": target.replay, "speed": target.replay_speed}
    return {"qemu": dict(target.qemu)}


def _resolve_qemu(target: Target) -> dict[str, Any]:
    """Return the qemu command line this target starts, and the guest it boots."""
    from armcheck.console.qemu import QemuTransport, find_guest, missing_guest_message

    transport = QemuTransport(target)
    folder = Path(tempfile.mkdtemp(prefix="armcheck-targets-"))
    resolved: dict[str, Any] = {}
    try:
        # Listing a target must not boot the firmware to prepare its variable store.
        argv = transport.build_command(folder, prepare_store=False)
        # The folder is made anew for each run; show where its files go, not this one.
        resolved["command"] = [arg.replace(str(folder), "RUN-FOLDER") for arg in argv]
    except ArmcheckError as err:
        resolved["error"] = str(err)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if transport.options.guest:
        guest = find_guest()
        resolved["guest"] = str(guest.folder) if guest is not None else missing_guest_message()
    return resolved


COMMANDS = [targets_command]
