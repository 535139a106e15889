"""Ctrl-C dropped by Python (while a subprocess starts) is raised again by the console."""

from __future__ import annotations

import signal

import pytest

from armcheck import interrupts
from armcheck.console.base import Console
from armcheck.console.serial import SerialTransport
from armcheck.targets import SerialSettings


def test_dropped_interrupt_raised_by_console_read(pty_pair) -> None:
    console = Console(SerialTransport(SerialSettings(port=pty_pair.path)), None)
    console.open()
    try:
        # What happens in an at-fork callback: the handler raises, Python drops it.
        try:
            interrupts._on_sigint(signal.SIGINT, None)
        except KeyboardInterrupt:
            pass
        with pytest.raises(KeyboardInterrupt):
            console.read(0.1)
        interrupts.handled()
        assert console.read(0.1) == b""
    finally:
        interrupts.handled()
        console.close()


def test_install_keeps_an_ignored_sigint() -> None:
    # A background job ignores SIGINT; armcheck must not start handling it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        interrupts.install()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_install_replaces_default_handler() -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        interrupts.install()
        assert signal.getsignal(signal.SIGINT) is interrupts._on_sigint
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupts.handled()
