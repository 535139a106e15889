"""The candidate-line prefilter: one regex that finds the lines worth parsing.

Python's `re` tries the branches of an alternation one after the other at
each position where the pattern may start, so the prefilter is shaped for
speed. A match may only start at a line feed or at the `] ` that ends a
printk timestamp. The literal markers after that are merged into a prefix
tree, so that a line without a fact fails after a few byte comparisons.

The prefilter may pass lines that hold no fact (the parsers then ignore
them) but must pass every line that holds one; tests/test_parsers_stream.py
checks it against the lines of the fixtures.
"""

from __future__ import annotations

import functools
import re

# Literal starts of the messages the parsers read, after any line prefix.
MESSAGE_STARTS = (
    # Linux
    b"Linux version ",
    b"Kernel command line",
    b"Kernel panic",
    b"efi: EFI v",
    b"efi: UEFI not found",
    b"EFI stub: Booting",
    b"EFI services will not",
    b"Remapping and enabling EFI",
    b"Machine model",
    b"ACPI Error",
    b"ACPI BIOS Error",
    b"ACPI Warning",
    b"ACPI GTDT: found",
    b"ACPI: Interpreter",
    b"ACPI: SPCR: console",
    b"ACPI: Core revision",
    b"earlycon",
    b"printk: console",
    b"printk: legacy console",
    b"console [",
    b"legacy console [",
    b"DMI",
    b"SMBIOS",
    b"Hardware name",
    b"psci: PSCIv",
    b"psci: SMC",
    b"psci: Using PSCI v0.1",
    b"psci: is not",
    b"GIC: ",
    b"GICv2m",
    b"GICv3: CPU0: found",
    b"GICv3: GIC",
    b"GICv3: Distributor",
    b"GICv4",
    b"ITS [mem",
    b"SMP: Total",
    b"smp: Brought",
    b"Run ",
    b"WARNING: ",
    b"PCI ECAM",
    b"Internal error: Oops",
    b"[Firmware ",
    # Firmware and the UEFI shell
    b"BdsDxe:",
    b"[Bds]",
    b"Shell>",
    b"UEFI",
    b"U-Boot",
    b"TianoCore",
    b"Loading PEIM",
    b"Loading DXE",
    b"Loading driver",
    b"DXE IPL",
    b"SecCore",
    b"SEC: ",
    b"PEI: ",
    b"Press ",
    b"Hit any key",
    b"Version ",
    b"American Megatrends",
)

# Message starts that need more than a literal.
MESSAGE_PATTERNS = (
    rb"ACPI: [A-Z0-9_!]{4} 0x",  # a line of the kernel's ACPI table list
    rb"efi: .*(?:=0x|[Rr]untime)",  # the EFI configuration tables, runtime services
    rb"NOTICE: +BL",  # Trusted Firmware banners
    rb"[A-Z]+\d+:\\",  # a UEFI shell prompt on a file system, `FS0:\>`
)

# Texts after the `: ` that ends a driver name and device (`rtc-efi rtc-efi.0: `,
# `ARMH0011:00: `): UART, RTC and watchdog registration, ECAM regions and
# firmware bug notes.
DRIVER_MESSAGES = (
    b"registered as rtc",
    b"rtc core: registered",
    b"Initialized with",
    b"initialized with",
    b"[Firmware ",
    b"ECAM at",
    b"ECAM area",
) + tuple(b"tty" + bytes([letter]) for letter in range(ord("A"), ord("Z") + 1))

# A login prompt is never a kernel message, so it is looked for only at line starts.
LINE_PATTERNS = (rb"[^ \n]{1,64} login:",)

# The start of a line, past bytes that are not ASCII (line noise after
# power-on), mail quoting and a host or syslog timestamp. The timestamp is
# a run of digits and `:.,TZ+-` (`12:00:01.250`, ISO 8601 with a `T`), such a
# run and a clock (`2024-05-01 10:00:00,360`), a month and day before a clock
# (moreutils `ts`, syslog), or a stamp in brackets (grabserial, picocom).
# A message may also start after the `] ` of a printk timestamp, caller id or
# bracketed stamp. So the bracketed form is needed here only for a login
# prompt, which is looked for at line starts alone.
#
# The optional parts are written as alternations with an empty branch:
# `(?:>(?: ?>)* ?|)` matches what `(?:> ?)*` matches, but `re` rejects a line
# that starts with neither `>` nor a stamp without entering a repeat. This
# made the pattern 15% faster (CPython 3.11.7, the 20 MB benchmark log).
# No match can start with a space or with the `[ ` of a padded printk
# timestamp, and most lines of a console log start with one of them. The
# lookahead rejects those lines at once, which took a third off this
# pattern's time on the 100 MB benchmark log.
_LINE_START = (
    rb"\n(?!\[ | )[\x80-\xff]{0,8}(?:>(?: ?>)* ?|)(?:[\d:.,TZ+-]{8,35} (?:\d\d:[\d:.,]{5,29} |)"
    rb"|[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:[.,]\d+|) (?:\S+ kernel: |)"
    rb"|\[[\d:.,TZ+ -]{8,40}\] |)"
)


def prefix_tree(words: tuple[bytes, ...]) -> bytes:
    """Return a regex that matches any of `words`, with shared prefixes merged."""
    tree: dict[int | None, dict] = {}
    for word in words:
        node = tree
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}
    return _tree_regex(tree)


def _tree_regex(node: dict) -> bytes:
    if None in node:
        # A word ends here; for a prefilter, matching the shortest word is enough.
        return b""
    branches = [
        re.escape(bytes([byte])) + _tree_regex(child)
        for byte, child in sorted((k, v) for k, v in node.items() if k is not None)
    ]
    return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"


_MESSAGE = prefix_tree(MESSAGE_STARTS) + b"|" + b"|".join(MESSAGE_PATTERNS)

# Three patterns, each starting with a literal so that `re` can skip ahead
# with a fast substring search. One pattern with all three anchors was
# measured 3 times slower (CPython 3.11, the benchmark's 62 MB log).
PATTERNS = (
    re.compile(rb"\] (?:" + _MESSAGE + rb")"),
    re.compile(_LINE_START + b"(?:" + _MESSAGE + b"|" + b"|".join(LINE_PATTERNS) + b")"),
    re.compile(rb": (?:" + prefix_tree(DRIVER_MESSAGES) + rb")"),
)

# After a reset, the firmware's first line often lands behind the last prompt
# of the OS, as in `# UEFI firmware (version ...`. The scanner finds these
# banners with one regex pass per block (stream._terminal_line_starts), and
# is_candidate passes them.
RESET_BANNERS = (b"UEFI firmware (version", b"U-Boot ")
# RESET_BANNERS with their shared first letter taken out: `re` searches a
# literal first letter fast and tries the branches only there (a pattern of
# the two whole words took twice as long as this one on the benchmark log).
RESET_BANNER_PATTERN = re.compile(rb"U(?:EFI firmware \(version|-Boot )")


# The lines that reach this test (lines with terminal controls, mostly UEFI
# shell echoes and prompts) repeat through a long log.
@functools.lru_cache(maxsize=4096)
def is_candidate(text: str) -> bool:
    """Tell whether one clean line may hold a fact."""
    data = b"\n" + text.encode("utf-8", "replace")
    for pattern in PATTERNS:
        if pattern.search(data):
            return True
    return any(banner in data for banner in RESET_BANNERS)
