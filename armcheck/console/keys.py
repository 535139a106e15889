"""Named keys as a VT100/VT220 serial terminal sends them.

UEFI firmware reads function keys in both forms: ESC O P..S for F1-F4
(VT100) and ESC [ n ~ for F5 and up (VT220), which is what edk2's
TerminalDxe and most BMC consoles accept.
"""

from __future__ import annotations

from armcheck.errors import UsageError

KEYS: dict[str, bytes] = {
    "ESC": b"\x1b",
    "ENTER": b"\r",
    "CR": b"\r",
    "LF": b"\n",
    "TAB": b"\t",
    "SPACE": b" ",
    "BACKSPACE": b"\x7f",
    "DELETE": b"\x1b[3~",
    "UP": b"\x1b[A",
    "DOWN": b"\x1b[B",
    "RIGHT": b"\x1b[C",
    "LEFT": b"\x1b[D",
    "HOME": b"\x1b[1~",
    "END": b"\x1b[4~",
    "PAGEUP": b"\x1b[5~",
    "PAGEDOWN": b"\x1b[6~",
    "F1": b"\x1bOP",
    "F2": b"\x1bOQ",
    "F3": b"\x1bOR",
    "F4": b"\x1bOS",
    "F5": b"\x1b[15~",
    "F6": b"\x1b[17~",
    "F7": b"\x1b[18~",
    "F8": b"\x1b[19~",
    "F9": b"\x1b[20~",
    "F10": b"\x1b[21~",
    "F11": b"\x1b[23~",
    "F12": b"\x1b[24~",
}


def key_bytes(name: str) -> bytes:
    """Return the bytes for a key name such as `ESC`, `F2`, `Down` or `Ctrl-C`."""
    upper = name.strip().upper().replace("_", "-")
    if upper in KEYS:
        return KEYS[upper]
    for prefix in ("CTRL-", "CTRL+", "^"):
        if upper.startswith(prefix) and len(upper) == len(prefix) + 1:
            letter = upper[-1]
            if "@" <= letter <= "_":
                return bytes([ord(letter) - 0x40])
    known = ", ".join(sorted(KEYS))
    raise UsageError(f"unknown key name {name!r}: use one of {known}, or Ctrl-A to Ctrl-Z")
