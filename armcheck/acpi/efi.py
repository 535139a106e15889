"""The EFI system table and its configuration table, which point to the ACPI and SMBIOS tables.

Layouts follow the UEFI Specification 2.10 for a 64-bit CPU: the system table
(section 4.3) starts with the table header signature "IBI SYST" and its
revision, and has NumberOfTableEntries at offset 0x68 and the ConfigurationTable
pointer at offset 0x70. Each configuration table entry (section 4.6) is a
16-byte vendor GUID followed by an 8-byte pointer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

SYSTEM_TABLE_SIGNATURE = b"IBI SYST"
SYSTEM_TABLE_LENGTH = 0x78
CONFIGURATION_ENTRY_LENGTH = 24

# Vendor GUIDs of the configuration table entries armcheck follows, keyed as
# the `uefi.system_table` fact names them.
CONFIGURATION_GUIDS = {
    uuid.UUID("8868E871-E4F1-11D3-BC22-0080C73C8881"): "acpi20",
    uuid.UUID("EB9D2D30-2D88-11D3-9A16-0090273FC14D"): "acpi",
    uuid.UUID("EB9D2D31-2D88-11D3-9A16-0090273FC14D"): "smbios",
    uuid.UUID("F2FD1544-9794-4A2C-992E-E5BBCF20E394"): "smbios3",
}

# An estimate: edk2 on qemu lists 9 entries, so a count above this is taken as corrupt.
MAX_CONFIGURATION_ENTRIES = 256


@dataclass
class SystemTable:
    """The fields of the EFI system table that lead to the firmware tables."""

    revision: str
    entry_count: int
    configuration_table: int
    problems: list[str] = field(default_factory=list)


def decode_system_table(data: bytes) -> SystemTable | None:
    """Decode an EFI system table, or return None when `data` does not start with one."""
    if data[:8] != SYSTEM_TABLE_SIGNATURE or len(data) < SYSTEM_TABLE_LENGTH:
        return None
    raw_revision = int.from_bytes(data[8:12], "little")
    # The revision is major << 16 | minor, and minor 70 is printed as 2.70.
    revision = f"{raw_revision >> 16}.{raw_revision & 0xFFFF}"
    count = int.from_bytes(data[0x68:0x70], "little")
    problems = []
    if count > MAX_CONFIGURATION_ENTRIES:
        problems.append(f"NumberOfTableEntries {count} is implausible; reading none")
        count = 0
    return SystemTable(revision, count, int.from_bytes(data[0x70:0x78], "little"), problems)


def configuration_pointers(data: bytes) -> dict[str, int]:
    """Return the ACPI and SMBIOS pointers of configuration table entries, keyed as above."""
    pointers: dict[str, int] = {}
    whole = len(data) - len(data) % CONFIGURATION_ENTRY_LENGTH
    for offset in range(0, whole, CONFIGURATION_ENTRY_LENGTH):
        guid = uuid.UUID(bytes_le=bytes(data[offset : offset + 16]))
        key = CONFIGURATION_GUIDS.get(guid)
        if key is not None:
            pointers.setdefault(key, int.from_bytes(data[offset + 16 : offset + 24], "little"))
    return pointers
