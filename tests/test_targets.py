"""Target files, built-in targets, firmware discovery and `armcheck targets`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from armcheck.cli import main
from armcheck.console.firmware import find_uefi_firmware, list_descriptors
from armcheck.console.qemu import (
    QemuTransport,
    find_guest,
    guest_dir,
    missing_guest_message,
    require_guest,
)
from armcheck.console.varstore import copy_sparse
from armcheck.errors import TargetError
from armcheck.target_files import builtin_names, builtin_target, load_target_text
from armcheck.targets import COMMAND, QEMU, SERIAL, resolve_target

USB_BOARD = """\
name: lab-board-7
description: a board on a USB serial adapter
console:
  serial: /dev/ttyUSB0
  baud: 921600
  parity: even
  stopbits: 2
  rtscts: true
power:
  on: pdu-ctl --outlet 7 on
  off: pdu-ctl --outlet 7 off
credentials:
  user: root
  password_env: BOARD_PASSWORD
prompts:
  linux_shell: 'root@board:~# $'
boot:
  uefi_shell_keys: [ESC]
  entry: EFI Internal Shell
profile: sbsa-l3
char_delay: 0.005
timeouts:
  firmware: 90
  linux: 300
markers:
  - name: bl31
    pattern: 'NOTICE:  BL31'
"""


def _write(tmp_path: Path, text: str, name: str = "board.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_usb_board_file_parses(tmp_path: Path) -> None:
    target = resolve_target(str(_write(tmp_path, USB_BOARD)))
    assert target.kind == SERIAL
    assert target.serial is not None
    assert target.serial.port == "/dev/ttyUSB0"
    assert target.serial.baud == 921600
    assert target.serial.parity == "E"
    assert target.serial.stopbits == 2
    assert target.serial.rtscts is True
    assert target.power == {"on": "pdu-ctl --outlet 7 on", "off": "pdu-ctl --outlet 7 off"}
    assert target.credentials == {"user": "root", "password_env": "BOARD_PASSWORD"}
    assert target.prompts == {"linux_shell": "root@board:~# $"}
    assert target.boot["uefi_shell_keys"] == ["ESC"]
    assert target.boot["entry"] == ["EFI Internal Shell"]
    assert target.profile == "sbsa-l3"
    assert target.char_delay == 0.005
    assert target.timeouts == {"firmware": 90.0, "linux": 300.0}
    assert target.markers == [{"name": "bl31", "pattern": "NOTICE:  BL31"}]


def test_timeouts_total_parses() -> None:
    text = "console:\n  serial: a\ntimeouts:\n  total: 50\n  firmware: 20\n"
    target = load_target_text(text, "board.yaml", "board")
    assert target.timeouts == {"firmware": 20.0, "total": 50.0}


def test_command_console_string_split() -> None:
    text = "console:\n  command: ipmitool -I lanplus -H bmc -U admin sol activate\n"
    target = load_target_text(text, "sol.yaml", "sol")
    assert target.kind == COMMAND
    assert target.command[:3] == ["ipmitool", "-I", "lanplus"]
    assert target.name == "sol"


def test_rfc2217_url_console() -> None:
    target = load_target_text("console:\n  serial: rfc2217://127.0.0.1:4001\n", "lab.yaml", "lab")
    assert target.serial is not None
    assert target.serial.port == "rfc2217://127.0.0.1:4001"


def test_qemu_options_gic_version() -> None:
    text = "console:\n  qemu:\n    machine_options: {gic-version: 3}\n    memory: 2G\n"
    target = load_target_text(text, "q.yaml", "q")
    assert target.kind == QEMU
    assert target.qemu["machine_options"] == {"gic-version": "3"}
    assert target.qemu["memory"] == "2G"


BAD_FILES = [
    ("console:\n  serial: /dev/ttyUSB0\n  baud: fast\n", 3, "console.baud"),
    ("console:\n  serial: /dev/ttyUSB0\npower:\n  onn: x\n", 4, "power.onn"),
    ("console:\n  serial: /dev/ttyUSB0\n  parity: sideways\n", 3, "console.parity"),
    ("console:\n  serial: a\n  command: b\n", 2, "console"),
    ("console: {}\n", 1, "console"),
    ("name: x\nconsole:\n  serial: a\ncolour: red\n", 4, "colour"),
    ("console:\n  serial: a\nboot:\n  uefi_shell_keys: [ESCAPE]\n", 4, "boot.uefi_shell_keys"),
    ("console:\n  serial: a\nprompts:\n  linux_shell: '(['\n", 4, "prompts.linux_shell"),
    ("console:\n  serial: a\ntimeouts:\n  linux: -1\n", 4, "timeouts.linux"),
    ("console:\n  serial: a\ncredentials:\n  password: x\n  password_env: Y\n", 5,
     "credentials.password_env"),
    ("console:\n  qemu:\n    smp: 0\n", 3, "console.qemu.smp"),
    ("console:\n  qemu:\n    linux_boot: grub\n", 3, "console.qemu.linux_boot"),
    ("console:\n  qemu:\n    memory: lots\n", 3, "console.qemu.memory"),
    ("console:\n  serial: a\nmarkers:\n  - name: x\n", 4, "markers[0]"),
    ("console:\n  serial: a\n  serial: b\n", 3, "duplicate key"),
    ("console:\n  serial: a\nboot:\n  entry: []\n", 4, "boot.entry"),
    ("console:\n  serial: [\n", 3, "invalid YAML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "line", "key"), BAD_FILES)
def test_bad_file_names_line_and_key(tmp_path: Path, text: str, line: int, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(TargetError) as caught:
        resolve_target(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert key in message


def test_unknown_target_says_what_works() -> None:
    with pytest.raises(TargetError, match="built-in name"):
        resolve_target("no-such-board")


def test_builtins_listed() -> None:
    assert builtin_names() == ["qemu-virt", "qemu-virt-gicv3", "qemu-virt-uboot"]


@pytest.mark.parametrize(
    ("name", "gic", "firmware"),
    [
        ("qemu-virt", None, "edk2"),
        ("qemu-virt-gicv3", "3", "edk2"),
        ("qemu-virt-uboot", None, "u-boot"),
    ],
)
def test_builtin_qemu_options(name: str, gic: str | None, firmware: str) -> None:
    target = builtin_target(name)
    assert target is not None
    assert target.qemu["cpu"] == "cortex-a57"
    assert target.qemu["smp"] == 2
    assert target.qemu["memory"] == "1024"
    assert target.qemu["firmware"] == firmware
    assert target.qemu.get("machine_options", {}).get("gic-version") == gic


def test_default_target_is_qemu_virt() -> None:
    assert resolve_target(None).name == "qemu-virt"


def _descriptor(folder: Path, name: str, code: Path, features: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = {
        "interface-types": ["uefi"],
        "mapping": {
            "device": "flash",
            "executable": {"filename": str(code), "format": "raw"},
            "nvram-template": {"filename": str(code.with_suffix(".vars")), "format": "raw"},
        },
        "targets": [{"architecture": "aarch64", "machines": ["virt-*"]}],
        "features": features,
    }
    (folder / name).write_text(json.dumps(descriptor), encoding="utf-8")


def _firmware_files(tmp_path: Path, stem: str) -> Path:
    code = tmp_path / f"{stem}.fd"
    code.write_bytes(b"\0" * 4096)
    code.with_suffix(".vars").write_bytes(b"\0" * 1024)
    return code


def test_firmware_prefers_no_secure_boot(tmp_path: Path) -> None:
    system = tmp_path / "share"
    _descriptor(system, "40-secure.json", _firmware_files(tmp_path, "secure"), ["secure-boot"])
    _descriptor(system, "60-plain.json", _firmware_files(tmp_path, "plain"), [])
    firmware = find_uefi_firmware(dirs=[system])
    assert firmware.code.name == "plain.fd"


def test_firmware_user_folder_hides_system(tmp_path: Path) -> None:
    user, system = tmp_path / "user", tmp_path / "share"
    _descriptor(system, "60-edk2.json", _firmware_files(tmp_path, "system"), [])
    _descriptor(user, "60-edk2.json", _firmware_files(tmp_path, "mine"), [])
    assert list_descriptors([user, system]) == [user / "60-edk2.json"]
    assert find_uefi_firmware(dirs=[user, system]).code.name == "mine.fd"


def test_firmware_empty_file_masks(tmp_path: Path) -> None:
    user, system = tmp_path / "user", tmp_path / "share"
    _descriptor(system, "60-edk2.json", _firmware_files(tmp_path, "system"), [])
    user.mkdir()
    (user / "60-edk2.json").write_text("", encoding="utf-8")
    with pytest.raises(TargetError, match="qemu-efi-aarch64"):
        find_uefi_firmware(dirs=[user, system])


def test_firmware_skips_non_utf8_descriptor(tmp_path: Path) -> None:
    system = tmp_path / "share"
    _descriptor(system, "60-plain.json", _firmware_files(tmp_path, "plain"), [])
    (system / "40-latin1.json").write_bytes(b'{"description": "caf\xe9"}')
    assert find_uefi_firmware(dirs=[system]).code.name == "plain.fd"


def test_firmware_missing_names_package(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="apt-get install qemu-efi-aarch64"):
        find_uefi_firmware(dirs=[tmp_path / "none"])


def test_qemu_command_pads_variable_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A user descriptor named 10-... sorts before the system's 60-edk2-aarch64.json.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    user = tmp_path / "config" / "qemu" / "firmware"
    _descriptor(user, "10-test.json", _firmware_files(tmp_path, "edk2"), [])
    target = load_target_text("console:\n  qemu:\n    smp: 4\n", "q.yaml", "q")
    folder = tmp_path / "run"
    folder.mkdir()
    argv = QemuTransport(target).build_command(folder)
    assert f"if=pflash,format=raw,readonly=on,file={tmp_path / 'edk2.fd'}" in argv
    assert (folder / "vars.fd").stat().st_size == 4096
    assert f"if=pflash,format=raw,file={folder / 'vars.fd'}" in argv
    assert argv[argv.index("-smp") + 1] == "4"
    assert "stdio,id=armcheck-console,signal=off" in argv
    assert "menu=on,splash-time=0" in argv


def test_qemu_missing_kernel_named(tmp_path: Path) -> None:
    target = load_target_text(
        "console:\n  qemu:\n    firmware: none\n    kernel: /no/such/Image\n", "q.yaml", "q"
    )
    with pytest.raises(TargetError, match="/no/such/Image"):
        QemuTransport(target).build_command(tmp_path)


def test_cli_lists_builtins() -> None:
    result = CliRunner().invoke(main, ["targets"])
    assert result.exit_code == 0
    assert "qemu-virt-gicv3" in result.output


def test_cli_shows_file_without_password(tmp_path: Path) -> None:
    text = "console:\n  serial: /dev/ttyUSB0\ncredentials:\n  user: root\n  password: hunter2\n"
    result = CliRunner().invoke(main, ["targets", str(_write(tmp_path, text))])
    assert result.exit_code == 0
    assert "hunter2" not in result.output
    shown = yaml.safe_load(result.output)
    assert shown["credentials"]["user"] == "root"
    assert shown["console"]["serial"] == "/dev/ttyUSB0"


def test_cli_bad_file_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "console:\n  serial: a\n  baud: fast\n")
    result = CliRunner().invoke(main, ["targets", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3: console.baud" in result.output


def test_guest_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARMCHECK_GUEST_DIR", str(tmp_path / "guest"))
    assert guest_dir() == tmp_path / "guest"
    assert find_guest() is None
    assert "make guest" in missing_guest_message()


def test_guest_dir_under_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARMCHECK_GUEST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "armcheck" / "guest"
    folder.mkdir(parents=True)
    (folder / "vmlinuz").write_bytes(b"MZ")
    (folder / "initrd.gz").write_bytes(b"\x1f\x8b")
    guest = find_guest()
    assert guest is not None
    assert guest.kernel == folder / "vmlinuz"


def test_missing_guest_raises_with_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARMCHECK_GUEST_DIR", str(tmp_path))
    with pytest.raises(TargetError, match="scripts/build-guest.sh"):
        require_guest()


@pytest.mark.parametrize("linux_boot", ["shell", "direct"])
def test_qemu_linux_boot_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, linux_boot: str
) -> None:
    monkeypatch.setenv("ARMCHECK_GUEST_DIR", str(tmp_path / "guest"))
    (tmp_path / "guest").mkdir()
    (tmp_path / "guest" / "vmlinuz").write_bytes(b"MZ")
    (tmp_path / "guest" / "initrd.gz").write_bytes(b"\x1f\x8b")
    text = f"console:\n  qemu:\n    guest: true\n    linux_boot: {linux_boot}\n"
    transport = QemuTransport(load_target_text(text, "q.yaml", "q"))
    folder = tmp_path / "run"
    folder.mkdir()
    argv = transport.build_command(folder)
    if linux_boot == "direct":
        assert argv[argv.index("-kernel") + 1] == str(tmp_path / "guest" / "vmlinuz")
        assert argv[argv.index("-append") + 1] == "console=ttyAMA0"
        assert transport.linux is None
    else:
        assert "-kernel" not in argv
        assert f"if=virtio,format=raw,readonly=on,file=fat:{folder / 'linux'}" in argv
        assert transport.linux is not None
        assert transport.linux.shell_command() == ("FS0:\\k initrd=\\i console=ttyAMA0")
        extlinux = (folder / "linux" / "extlinux" / "extlinux.conf").read_text(encoding="utf-8")
        assert "initrd /i" in extlinux


def test_variable_store_copy_exact(tmp_path: Path) -> None:
    template = tmp_path / "vars.template"
    content = bytes(3 << 20) + b"\x01VARS" + bytes(100)
    template.write_bytes(content)
    copy = tmp_path / "vars.fd"
    copy_sparse(template, copy, 4 << 20)
    data = copy.read_bytes()
    assert len(data) == 4 << 20
    assert data[: len(content)] == content
    assert data[len(content) :] == bytes((4 << 20) - len(content))


def test_unknown_profile_names_line() -> None:
    text = "console:\n  serial: /dev/ttyUSB0\nprofile: sbsa\n"
    with pytest.raises(TargetError, match=r"board\.yaml:3: profile: unknown profile 'sbsa'"):
        load_target_text(text, "board.yaml", "board")


def test_cli_target_that_cannot_start(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from armcheck.cli import main

    path = tmp_path / "board.yaml"
    path.write_text("console:\n  qemu:\n    kernel: /nonexistent/Image\n")
    result = CliRunner().invoke(main, ["targets", str(path)])
    assert result.exit_code == 2
    assert "qemu kernel file not found: /nonexistent/Image" in result.output
