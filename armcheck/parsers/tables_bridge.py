"""Hand table text and table bytes to the decoders in armcheck/parsers/tables.py.

The console parsers find table dumps (a `dmem` or `acpiview` block in a UEFI
shell session), and input detection finds table files. Both call here, so the
decoders' calling conventions live in one place.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from armcheck.errors import ArmcheckError
from armcheck.facts import ACPI_TABLE, SMBIOS_TABLE, Evidence, Facts, Observation
from armcheck.parsers.base import LogLine, ParseContext
from armcheck.transcript import Line

log = logging.getLogger(__name__)

# Input kinds of table text and table bytes, mapped to the decoder function of
# armcheck/parsers/tables.py that reads them.
TEXT_DECODERS = {
    "acpidump": "facts_from_acpidump_text",
    "dsl": "facts_from_dsl_text",
    "dmidecode": "facts_from_dmidecode_text",
    "table-list": "facts_from_table_list_text",
    "dump-text": "facts_from_dump_text",
}
BINARY_DECODERS = {
    "acpi-binary": "facts_from_acpi_binary",
    "smbios-binary": "facts_from_smbios_binary",
}
SHELL_DECODERS = {
    "dmem": "facts_from_dmem_lines",
    "acpiview": "facts_from_acpiview_lines",
}


def decoder(name: str) -> Any:
    """Return the decoder function `name` of armcheck.parsers.tables, or None."""
    try:
        from armcheck.parsers import tables
    except ImportError as err:
        log.warning("table decoders are not available: %s", err)
        return None
    return getattr(tables, name, None)


def to_lines(lines: Iterable[LogLine]) -> list[Line]:
    return [Line(line.number, line.time or 0.0, line.message, line.time or 0.0) for line in lines]


def shell_block(kind: str, lines: Sequence[LogLine], ctx: ParseContext) -> None:
    """Decode the table dump of a UEFI shell `dmem` or `acpiview` block."""
    function = decoder(SHELL_DECODERS.get(kind, ""))
    if function is None:
        log.info("%s: no decoder for the `%s` block at line %d", ctx.file, kind, lines[0].number)
        return
    decoded = Facts()
    try:
        function(to_lines(lines), decoded, ctx.file)
        if all(line.time is None for line in lines):
            untimed(decoded, {})
        merge_new(decoded, ctx.facts)
    except (ArmcheckError, ValueError, IndexError) as err:
        # A garbled dump inside a console log costs its tables, not the whole document.
        log.warning(
            "%s:%d: could not decode the `%s` output: %s", ctx.file, lines[0].number, kind, err
        )


def merge_new(decoded: Facts, facts: Facts) -> None:
    """Add to `facts` the observations of `decoded` whose value `facts` does not hold yet.

    The same tables dumped again in a later shell session (after a reset) then
    add no observations, so a long log of many sessions stays bounded.
    """
    for key, observations in decoded.observations.items():
        for observation in observations:
            facts.set_once(key, observation.value, observation.evidence)


def untimed(facts: Facts, before: dict[str, int]) -> None:
    """Drop the times of the observations added since `facts` had `before` of each key.

    The decoders read Lines, whose time is a number. The lines of a file
    without timestamps give 0.0, and a report would print that as a time.
    """
    for key, observations in facts.observations.items():
        for index in range(before.get(key, 0), len(observations)):
            observation = observations[index]
            if observation.evidence.time is not None:
                evidence = dataclasses.replace(observation.evidence, time=None)
                observations[index] = Observation(observation.value, evidence)


def text_file(kind: str, lines: list[Line], facts: Facts, file: str) -> bool:
    """Decode a table text file; return False when no decoder is available for `kind`."""
    function = decoder(TEXT_DECODERS[kind])
    if function is None:
        return False
    before = {key: len(observations) for key, observations in facts.observations.items()}
    function(lines, facts, file)
    untimed(facts, before)
    return True


def binary_file(kind: str, data: bytes, facts: Facts, file: str) -> bool:
    """Decode a binary table file; return False when no decoder is available for `kind`."""
    function = decoder(BINARY_DECODERS[kind])
    if function is None:
        return False
    source = SMBIOS_TABLE if kind == "smbios-binary" else ACPI_TABLE
    function(data, facts, Evidence(source, file))
    return True


def smbios_folder(path: str, facts: Facts) -> bool:
    """Decode a copy of /sys/firmware/dmi/tables; return False when no decoder is available."""
    function = decoder("facts_from_smbios_folder")
    if function is None:
        return False
    function(path, facts)
    return True
