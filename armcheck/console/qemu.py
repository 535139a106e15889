"""The qemu transport: qemu-system-aarch64 with its serial console on pipes.

qemu's first serial port is a `stdio` chardev, so the console is the
process's standard input and output. The pipes exist before the guest runs
its first instruction, so no early firmware byte is lost. They carry raw
bytes, with no terminal line discipline between the guest and armcheck.
The process start is the power-on of the guest (console/power.py marks it).

Firmware comes from the target's qemu options:

- `edk2`: the UEFI build named by qemu's firmware descriptors, as two pflash
  devices: the code read-only, and a fresh copy of the variable template per
  run in a temporary folder removed at close;
- `u-boot`: Debian's U-Boot for qemu arm64, loaded with -bios;
- `none`: no firmware option (qemu's own boot loader starts a -kernel);
- any other value: a file path given to -bios.

`-boot menu=on,splash-time=0` stops edk2 from waiting about 5 s for a key
before its boot manager goes on. A QMP socket in the temporary folder gives
`reset()` (QMP `system_reset`).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable

from armcheck.console.base import Transport
from armcheck.console.firmware import find_uboot, find_uefi_firmware
from armcheck.console.varstore import DEFAULT_SHELL_OPTIONS, copy_sparse, variable_store
from armcheck.errors import ConsoleClosed, ConsoleError, TargetError

log = logging.getLogger(__name__)

DEFAULT_BINARY = "qemu-system-aarch64"
EDK2 = "edk2"
UBOOT = "u-boot"
NO_FIRMWARE = "none"
# Linux boot modes. `direct` hands kernel and initrd to qemu (-kernel), and
# `shell` puts them on a read-only FAT drive for the UEFI shell to start later.
LINUX_DIRECT = "direct"
LINUX_SHELL = "shell"
CONSOLE_CHARDEV = "armcheck-console"
# File names of the guest's kernel and initramfs on the FAT drive.
FAT_KERNEL = "k"
FAT_INITRD = "i"
# The script on the FAT drive that starts the kernel, and the drive's shell name.
FAT_START_SCRIPT = "b.nsh"
FAT_VOLUME = "FS0:"
STDERR_TAIL_BYTES = 2000
TERMINATE_GRACE = 5.0


@dataclass
class QemuOptions:
    """The qemu part of a target: what machine to emulate and what to boot on it."""

    binary: str = DEFAULT_BINARY
    machine: str = "virt"
    machine_options: dict[str, str] = field(default_factory=dict)
    cpu: str = "cortex-a57"
    smp: int = 2
    memory: str = "1024"
    firmware: str = EDK2
    kernel: str | None = None
    initrd: str | None = None
    append: str | None = None
    disk: str | None = None
    guest: bool = False
    linux_boot: str = LINUX_SHELL
    # Written to the UEFI shell's ShellOpt variable in a prepared variable
    # store (console/varstore.py); empty for the firmware's blank template.
    uefi_shell_options: str = DEFAULT_SHELL_OPTIONS
    # Scripts for the UEFI shell, by file name, put on the FAT drive with the
    # kernel. Set by the run (collect.py), not by target files.
    uefi_scripts: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> QemuOptions:
        """Build options from a validated mapping (see target_files for the checks)."""
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        options = cls(**known)
        options.machine_options = {str(k): str(v) for k, v in options.machine_options.items()}
        options.memory = str(options.memory)
        options.extra_args = [str(arg) for arg in options.extra_args]
        return options


@dataclass(frozen=True)
class LinuxBoot:
    """A Linux kernel for the UEFI shell to start from the FAT drive."""

    kernel: str
    initrd: str | None
    append: str
    # The shell's name for the FAT drive script that contains shell_command(), if any.
    start_script: str | None = None

    def shell_command(self, volume: str = FAT_VOLUME) -> str:
        """Return the UEFI shell line that starts the kernel's EFI stub with its initrd."""
        parts = [f"{volume}\\{self.kernel}"]
        if self.initrd:
            # The EFI stub reads initrd= relative to the volume the kernel was loaded from.
            parts.append(f"initrd=\\{self.initrd}")
        if self.append:
            parts.append(self.append)
        return " ".join(parts)


class QemuTransport(Transport):
    """qemu-system-aarch64 as a console: its serial port on the process's pipes."""

    def __init__(self, target: Any) -> None:
        self.target_name = str(getattr(target, "name", "qemu"))
        self.name = f"qemu ({self.target_name})"
        self.options = QemuOptions.from_mapping(dict(getattr(target, "qemu", {}) or {}))
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        self.linux: LinuxBoot | None = None
        # The shell's names (FS0:\\a) of the scripts on the FAT drive, by file name.
        self.uefi_scripts: dict[str, str] = {}
        self.guest: GuestImage | None = None
        self._folder: Path | None = None
        self._stderr: IO[bytes] | None = None
        self._qmp: QmpClient | None = None
        self._stdout_fd = -1
        self._closed = False

    # --- command line ---------------------------------------------------------------

    def build_command(self, folder: Path, prepare_store: bool = True) -> list[str]:
        """Return the qemu argv; files it needs (variable store, FAT drive) go into `folder`.

        With `prepare_store` False, a variable store not prepared yet is not
        prepared now (console/varstore.py): the firmware's template is used.
        """
        options = self.options
        machine = ",".join(
            [options.machine] + [f"{key}={value}" for key, value in options.machine_options.items()]
        )
        # fmt: off
        argv = [
            options.binary,
            "-machine", machine,
            "-cpu", options.cpu,
            "-smp", str(options.smp),
            "-m", options.memory,
            "-nodefaults",
            "-no-user-config",
            "-display", "none",
            "-monitor", "none",
            "-chardev", f"stdio,id={CONSOLE_CHARDEV},signal=off",
            "-serial", f"chardev:{CONSOLE_CHARDEV}",
            "-boot", "menu=on,splash-time=0",
            "-qmp", f"unix:{folder / 'qmp.sock'},server=on,wait=off",
        ]
        # fmt: on
        argv += self._firmware_args(folder, prepare_store)
        argv += self._linux_args(folder)
        if options.disk:
            disk = _existing_file(options.disk, "disk")
            # snapshot=on: writes go to a temporary overlay, the image is never changed.
            argv += ["-drive", f"if=virtio,format=raw,snapshot=on,file={disk}"]
        argv += options.extra_args
        return argv

    def _firmware_args(self, folder: Path, prepare_store: bool = True) -> list[str]:
        firmware = self.options.firmware
        if firmware == EDK2:
            uefi = find_uefi_firmware(self.options.machine)
            variables = folder / "vars.fd"
            template = variable_store(
                uefi,
                self.options.binary,
                self.options.uefi_shell_options,
                prepare_missing=prepare_store,
            )
            copy_sparse(template, variables, uefi.code.stat().st_size)
            return [
                "-drive",
                f"if=pflash,format={uefi.code_format},readonly=on,file={uefi.code}",
                "-drive",
                f"if=pflash,format={uefi.vars_format},file={variables}",
            ]
        if firmware == UBOOT:
            return ["-bios", str(find_uboot())]
        if firmware == NO_FIRMWARE:
            return []
        return ["-bios", str(_existing_file(firmware, "firmware"))]

    def _linux_args(self, folder: Path) -> list[str]:
        options = self.options
        kernel, initrd = options.kernel, options.initrd
        if kernel is None and options.guest:
            self.guest = find_guest()
            if self.guest is None:
                log.warning("%s", missing_guest_message())
            else:
                kernel, initrd = str(self.guest.kernel), str(self.guest.initrd)
        if kernel is None:
            return []
        append = options.append if options.append is not None else "console=ttyAMA0"
        kernel_path = _existing_file(kernel, "kernel")
        initrd_path = _existing_file(initrd, "initrd") if initrd else None
        if options.linux_boot == LINUX_DIRECT or options.firmware == NO_FIRMWARE:
            argv = ["-kernel", str(kernel_path), "-append", append]
            if initrd_path is not None:
                argv += ["-initrd", str(initrd_path)]
            return argv
        # The FAT drive comes before the `disk` drive on the command line, so it
        # gets the lower PCI slot and edk2 maps it as FS0.
        # NOTE: a drive added in front of it through extra_args would take FS0.
        return self._fat_drive(folder, kernel_path, initrd_path, append)

    def _fat_drive(self, folder: Path, kernel: Path, initrd: Path | None, append: str) -> list[str]:
        """Put kernel, initrd and shell scripts on a read-only FAT drive (qemu's vvfat)."""
        drive = folder / "linux"
        drive.mkdir()
        # One-letter names: the edk2 shell echoes each typed character, at about
        # 10 ms each under qemu's TCG. For the same reason the kernel's start
        # line, and the commands the caller gives, go in scripts the shell runs.
        os.symlink(kernel.resolve(), drive / FAT_KERNEL)
        if initrd is not None:
            os.symlink(initrd.resolve(), drive / FAT_INITRD)
        boot = LinuxBoot(FAT_KERNEL, FAT_INITRD if initrd is not None else None, append)
        scripts = {**self.options.uefi_scripts, FAT_START_SCRIPT: boot.shell_command()}
        for name, text in scripts.items():
            if not re.fullmatch(r"[a-z0-9]{1,8}\.nsh", name):
                raise TargetError(
                    f"UEFI shell script name {name!r}: expected 1 to 8 letters and .nsh"
                )
            body = "\r\n".join(text.splitlines()) + "\r\n"
            # The shell reads ASCII scripts, and UCS-2 ones that start with a byte-order mark.
            data = (
                body.encode("ascii") if body.isascii() else b"\xff\xfe" + body.encode("utf-16-le")
            )
            (drive / name).write_bytes(data)
        self.uefi_scripts = {name: f"{FAT_VOLUME}\\{name[:-4]}" for name in scripts}
        self.linux = replace(boot, start_script=self.uefi_scripts[FAT_START_SCRIPT])
        # U-Boot's distro boot looks for extlinux/extlinux.conf; edk2 ignores it.
        extlinux = drive / "extlinux"
        extlinux.mkdir()
        lines = ["default linux", "label linux", f"  kernel /{FAT_KERNEL}"]
        if initrd is not None:
            lines.append(f"  initrd /{FAT_INITRD}")
        lines.append(f"  append {append}")
        (extlinux / "extlinux.conf").write_text("\n".join(lines) + "\n", encoding="ascii")
        return ["-drive", f"if=virtio,format=raw,readonly=on,file=fat:{drive}"]

    @property
    def folder(self) -> Path | None:
        """The temporary folder of the running qemu (variable store, FAT drive), or None."""
        return self._folder

    # --- Transport ------------------------------------------------------------------

    def open(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="armcheck-qemu-"))
        self._folder = folder
        try:
            argv = self.build_command(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._folder = None
            raise
        log.info("starting %s", " ".join(argv))
        self._stderr = open(folder / "stderr.log", "w+b")
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=0,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )
        except OSError as err:
            self.close()
            raise TargetError(
                f"cannot start {argv[0]}: {err.strerror}; install the Debian package "
                "qemu-system-arm or set `binary` in the target's qemu options"
            ) from err
        self.started_at = time.monotonic()
        assert self.process.stdout is not None
        self._stdout_fd = self.process.stdout.fileno()
        os.set_blocking(self._stdout_fd, False)

    def read(self, size: int, timeout: float | None) -> bytes:
        if self.process is None or self._stdout_fd < 0:
            raise ConsoleClosed(f"{self.name} is not running")
        try:
            ready, _, _ = select.select([self._stdout_fd], [], [], timeout)
        except ValueError as err:
            raise ConsoleClosed(f"{self.name} console is closed") from err
        if not ready:
            return b""
        try:
            data = os.read(self._stdout_fd, size)
        except BlockingIOError:
            return b""
        except OSError as err:
            raise ConsoleClosed(f"{self.name} console read failed: {err.strerror}") from err
        if not data:
            raise ConsoleClosed(self._exit_message())
        return data

    def write(self, data: bytes) -> None:
        if self.process is None or self.process.stdin is None:
            raise ConsoleClosed(f"{self.name} is not running")
        try:
            self.process.stdin.write(data)
        except (BrokenPipeError, ValueError) as err:
            raise ConsoleClosed(self._exit_message()) from err

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._qmp is not None:
            self._qmp.close()
        process = self.process
        if process is not None:
            _stop_process(process)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            log.info("%s ended with exit status %s", self.name, process.returncode)
        if self._stderr is not None:
            self._stderr.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    # --- qemu specifics ---------------------------------------------------------------

    @property
    def exit_status(self) -> int | None:
        """qemu's exit status once it has ended, else None."""
        return None if self.process is None else self.process.poll()

    def stderr_tail(self) -> str:
        """Return the last lines qemu wrote to its standard error."""
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.flush()
        size = self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, size - STDERR_TAIL_BYTES))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def reset(self) -> None:
        """Reset the guest as a reset button would (QMP `system_reset`)."""
        self._qmp_client().execute("system_reset")
        log.info("%s: system_reset sent", self.name)

    def _qmp_client(self) -> QmpClient:
        if self._qmp is None:
            if self._folder is None or self.process is None:
                raise ConsoleError(f"{self.name} is not running")
            client = QmpClient(self._folder / "qmp.sock")
            try:
                client.connect()
            except QmpError as err:
                raise ConsoleError(f"{self.name}: QMP connection failed: {err}") from err
            self._qmp = client
        return self._qmp

    def _exit_message(self) -> str:
        status: int | None = None
        if self.process is not None:
            try:
                status = self.process.wait(timeout=TERMINATE_GRACE)
            except subprocess.TimeoutExpired:
                status = None
        message = f"{self.name} console closed"
        if status is not None:
            message = f"qemu exited with status {status}" + (
                f" (signal {signal.Signals(-status).name})" if status < 0 else ""
            )
        tail = " / ".join(line.strip() for line in self.stderr_tail().splitlines() if line.strip())
        if tail:
            message += f" (standard error: {tail})"
        return message


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _parent_death_signal() -> Callable[[], None] | None:
    """Return a function for the child that asks Linux for SIGTERM when armcheck dies.

    With it, qemu ends even when armcheck is killed by SIGKILL. libc is
    loaded here, before the fork, so the child only makes the system call.
    NOTE: Linux sends the signal when the forking thread ends, so the
    transport must be opened from a thread that lives as long as the run.
    Elsewhere than Linux this returns None.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def request_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return request_signal


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate qemu, kill it if it has not ended after a grace period, and reap it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=TERMINATE_GRACE)
        return
    except subprocess.TimeoutExpired:
        log.warning(
            "qemu (pid %d) ignored SIGTERM for %.0f s; killing it", process.pid, TERMINATE_GRACE
        )
    process.kill()
    process.wait()


def _existing_file(value: str, what: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise TargetError(f"qemu {what} file not found: {value}; give an existing file path")
    return path


# --- the Linux guest built by scripts/build-guest.sh ------------------------------------

BUILD_GUEST_HINT = "run `make guest` (or scripts/build-guest.sh) in the armcheck source tree"


@dataclass(frozen=True)
class GuestImage:
    """The small arm64 Linux guest: an EFI stub kernel and a busybox initramfs."""

    folder: Path
    kernel: Path
    initrd: Path


def guest_dir() -> Path:
    """Return the guest's cache folder: $ARMCHECK_GUEST_DIR, else under $XDG_CACHE_HOME."""
    override = os.environ.get("ARMCHECK_GUEST_DIR")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "armcheck" / "guest"


def find_guest() -> GuestImage | None:
    """Return the built guest, or None when its kernel or initramfs is missing."""
    folder = guest_dir()
    kernel, initrd = folder / "vmlinuz", folder / "initrd.gz"
    if kernel.is_file() and initrd.is_file():
        return GuestImage(folder, kernel, initrd)
    return None


def missing_guest_message() -> str:
    """Return the error text for a missing guest, with the command that builds it."""
    return f"the Linux guest is not built (no vmlinuz and initrd.gz in {guest_dir()}): " + (
        BUILD_GUEST_HINT
    )


def require_guest() -> GuestImage:
    """Return the built guest, or raise TargetError saying how to build it."""
    guest = find_guest()
    if guest is None:
        raise TargetError(missing_guest_message())
    return guest


# --- QMP, the qemu machine protocol -----------------------------------------------------


class QmpError(ConsoleError):
    """A QMP connection or command failed."""


class QmpClient:
    """A minimal QMP client on a unix socket: handshake, then one command at a time."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._socket: socket.socket | None = None
        self._reader: IO[bytes] | None = None

    def connect(self) -> None:
        """Connect, check the greeting and leave capabilities negotiation mode."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as err:
            sock.close()
            raise QmpError(f"cannot connect to {self.path}: {err.strerror}") from err
        self._socket = sock
        self._reader = sock.makefile("rb")
        greeting = self._receive()
        if "QMP" not in greeting:
            self.close()
            raise QmpError(f"{self.path} sent no QMP greeting: {greeting!r}")
        self.execute("qmp_capabilities")

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command and return its `return` value; raise QmpError on an error reply."""
        if self._socket is None:
            raise QmpError("QMP is not connected")
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        try:
            self._socket.sendall(json.dumps(request).encode() + b"\n")
        except OSError as err:
            raise QmpError(f"sending {command} failed: {err}") from err
        while True:
            reply = self._receive()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                error = reply["error"]
                raise QmpError(f"{command} failed: {error.get('desc', error)}")
            # Anything else is an asynchronous event (RESET, STOP, ...): skip it.
            log.debug("QMP event %s", reply.get("event"))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _receive(self) -> dict[str, Any]:
        assert self._reader is not None
        try:
            line = self._reader.readline()
        except OSError as err:
            raise QmpError(f"reading from {self.path} failed: {err}") from err
        if not line:
            raise QmpError(f"{self.path} closed the connection")
        try:
            message = json.loads(line)
        except ValueError as err:
            raise QmpError(f"{self.path} sent invalid JSON: {line[:200]!r}") from err
        if not isinstance(message, dict):
            raise QmpError(f"{self.path} sent a non-object message: {line[:200]!r}")
        return message


__all__ = [
    "QemuOptions",
    "QemuTransport",
    "LinuxBoot",
    "EDK2",
    "UBOOT",
    "NO_FIRMWARE",
    "LINUX_DIRECT",
    "LINUX_SHELL",
    "QmpClient",
    "QmpError",
    "GuestImage",
    "guest_dir",
    "find_guest",
    "require_guest",
    "missing_guest_message",
]
