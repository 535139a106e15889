"""The prepared edk2 variable store: ShellOpt set once, so the shell skips its countdown."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter, read_capture
from armcheck.console.firmware import find_uefi_firmware
from armcheck.console.qemu import DEFAULT_BINARY, QemuTransport
from armcheck.console.varstore import (
    prepare,
    shell_options_data,
    shown_bytes,
    store_key,
    variable_store,
)
from armcheck.shells import STARTUP_COUNTDOWN, UefiShell
from armcheck.target_files import builtin_target
from armcheck.targets import open_console


def test_options_as_the_shell_reads_them() -> None:
    # UCS-2 with its NUL: the shell allocates exactly the variable's size.
    assert shell_options_data("-nostartup") == "-nostartup\0".encode("utf-16-le")


def test_shown_bytes_reads_setvar_rows() -> None:
    lines = [
        "Shell> setvar ShellOpt -guid 158DEF5A-F656-419C-B027-7A3192C079D2",
        "158DEF5A-F656-419C-B027-7A3192C079D2 - ShellOpt - 0016 Bytes",
        "2D 00 6E 00 6F 00 73 00 74 00 61 00 72 00 74 00 75 00 70 00 00 00",
    ]
    assert shown_bytes(lines) == shell_options_data("-nostartup")


def test_key_follows_the_options() -> None:
    uefi = find_uefi_firmware("virt")
    assert store_key(uefi, DEFAULT_BINARY, "-nostartup") != store_key(
        uefi, DEFAULT_BINARY, "-nomap"
    )
    assert store_key(uefi, DEFAULT_BINARY, "-nostartup") == store_key(
        uefi, DEFAULT_BINARY, "-nostartup"
    )


def test_template_without_options_or_raw(tmp_path: Path) -> None:
    uefi = find_uefi_firmware("virt")
    assert variable_store(uefi, DEFAULT_BINARY, "", tmp_path) == uefi.vars_template
    qcow2 = replace(uefi, vars_format="qcow2")
    assert variable_store(qcow2, DEFAULT_BINARY, "-nostartup", tmp_path) == uefi.vars_template
    assert list(tmp_path.iterdir()) == []


def test_failed_preparation_falls_back_to_the_template(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    uefi = find_uefi_firmware("virt")
    missing = str(tmp_path / "no-such-qemu")
    with caplog.at_level(logging.WARNING):
        store = variable_store(uefi, missing, "-nostartup", tmp_path / "cache")
    assert store == uefi.vars_template
    assert "could not prepare edk2's variable store" in caplog.text
    assert not any((tmp_path / "cache").glob("*.fd"))


@pytest.mark.qemu
def test_prepared_store_starts_the_shell_without_countdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uefi = find_uefi_firmware("virt")
    prepared = tmp_path / "vars.fd"
    prepare(uefi, DEFAULT_BINARY, "-nostartup", prepared)
    # Sparse: only the formatted store at its start takes disk blocks.
    assert prepared.stat().st_size == uefi.vars_template.stat().st_size
    assert prepared.stat().st_blocks * 512 < 4 << 20

    # A run finds it in the cache folder (under XDG_CACHE_HOME) by its key.
    cache = tmp_path / "cache"
    folder = cache / "armcheck" / "varstore"
    folder.mkdir(parents=True)
    key = store_key(uefi, DEFAULT_BINARY, "-nostartup")
    prepared.rename(folder / f"vars-{key}.fd")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    target = builtin_target("qemu-virt")
    assert target is not None
    target.qemu["guest"] = False
    capture = CaptureWriter(tmp_path / "shell.cast", target=target.name)
    console = open_console(target, capture)
    try:
        UefiShell(console).reach(60)
    finally:
        console.close()
        capture.close()
    text = read_capture(tmp_path / "shell.cast").output_bytes().decode("utf-8", "replace")
    assert "UEFI Interactive Shell" in text
    assert "startup.nsh" not in text


@pytest.mark.qemu
def test_empty_shell_options_keep_the_countdown(tmp_path: Path) -> None:
    target = builtin_target("qemu-virt")
    assert target is not None
    target.qemu["guest"] = False
    target.qemu["uefi_shell_options"] = ""
    transport = QemuTransport(target)
    argv = transport.build_command(tmp_path)
    assert f"file={tmp_path / 'vars.fd'}" in " ".join(argv)
    capture = CaptureWriter(tmp_path / "shell.cast", target=target.name)
    console = open_console(target, capture)
    try:
        console.expect(STARTUP_COUNTDOWN, 60, what="the startup.nsh countdown")
        UefiShell(console).reach(60)
    finally:
        console.close()
        capture.close()


def test_listing_target_prepares_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from armcheck.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["targets", "qemu-virt"])
    assert result.exit_code == 0, result.output
    assert "qemu-system-aarch64" in result.output
    assert not (tmp_path / "armcheck" / "varstore").exists()
