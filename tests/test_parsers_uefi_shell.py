"""The UEFI shell parser, on a real qemu session and on command blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from armcheck.facts import UEFI_SHELL, Facts
from armcheck.inputs import read_facts
from armcheck.parsers.stream import LogParser

# Recorded from qemu-system-aarch64 7.2 (virt, GICv3) with the Debian AAVMF
# firmware: boot to the built-in shell, then ver, memmap, time, date, dmem,
# smbiosview -t 0, smbiosview -t 1, pci, sermode and acpiview (not built in).
SHELL_CAPTURE = Path(__file__).parent / "fixtures" / "captures" / "qemu-virt-gicv3-uefi-shell.cast"


@pytest.fixture(scope="module")
def shell_facts() -> Facts:
    return read_facts([SHELL_CAPTURE])


def parse_lines(*lines: str) -> Facts:
    facts = Facts()
    parser = LogParser(facts, "shell.log")
    for number, text in enumerate(lines, 1):
        parser.feed(number, text)
    parser.finish()
    return facts


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("uefi.shell.version", "2.2"),
        ("uefi.revision", "2.70"),
        ("firmware.vendor", "EDK II"),
        ("uefi.firmware_revision", "0x00010000"),
        ("uefi.time", "20:16:19"),
        ("uefi.date", "2026-12-04"),
        ("smbios.version", "3.0"),
        ("smbios.entry_point", "64-bit"),
        (
            "smbios.bios",
            {
                "vendor": "EFI Development Kit II / OVMF",
                "version": "0.0.0",
                "release_date": "02/06/2015",
            },
        ),
        ("uefi.serial", {"baud": 38400, "parity": "N", "data_bits": 8, "stop_bits": "1"}),
        ("uefi.system_table", {"acpi": 0, "acpi20": 0x5C430018, "smbios": 0x5FED0000}),
    ],
)
def test_shell_capture_fact(shell_facts: Facts, key: str, value: object) -> None:
    assert shell_facts.value(key) == value


def test_shell_capture_system_product(shell_facts: Facts) -> None:
    system = shell_facts.value("smbios.system")
    assert system["manufacturer"] == "QEMU"
    assert system["product"] == "QEMU Virtual Machine"


def test_shell_capture_memmap(shell_facts: Facts) -> None:
    memmap = shell_facts.value("uefi.memmap")
    assert memmap[0] == {
        "type": "Available",
        "start": 0x40000000,
        "pages": 0x4000,
        "attributes": 0x8,
    }
    assert len(memmap) > 10
    # Types with an underscore are rows too.
    acpi = [entry for entry in memmap if entry["type"] == "ACPI_Recl"]
    assert len(acpi) == 1
    assert acpi[0]["pages"] > 0
    assert {"BS_Data", "RT_Code", "MMIO"} <= {entry["type"] for entry in memmap}


def test_shell_capture_pci(shell_facts: Facts) -> None:
    devices = shell_facts.value("pci.devices")
    assert devices == [
        {
            "segment": 0,
            "bus": 0,
            "device": 0,
            "function": 0,
            "vendor": 0x1B36,
            "device_id": 0x0008,
            "class": "Bridge Device - Host/PCI bridge",
        }
    ]


def test_shell_capture_evidence_time(shell_facts: Facts) -> None:
    evidence = shell_facts.first("uefi.time").evidence
    assert evidence.source == UEFI_SHELL
    assert evidence.line == 67
    assert evidence.time == pytest.approx(12.629, abs=0.001)


def test_shell_date_then_time() -> None:
    facts = parse_lines("Shell> date", "01/31/2025", "Shell> time", "23:59:58 (UTC+00:00)")
    assert facts.value("uefi.time") == "2025-01-31 23:59:58"


def test_shell_prompt_on_file_system() -> None:
    facts = parse_lines("FS0:\\EFI\\> sermode", "15(5ED78E98) - (115200, N, 8, 1)")
    assert facts.value("uefi.serial")["baud"] == 115200


def test_shell_unknown_command_ignored() -> None:
    facts = parse_lines("Shell> Image root=/dev/vda", "01/31/2025", "12:00:00")
    assert not facts.seen("uefi.time")
    assert not facts.seen("uefi.date")


def test_shell_garbled_block_partial() -> None:
    facts = parse_lines("Shell> memmap", "Available  zzzz", "Shell> ver", "UEFI v2.80 (X, 0x1)")
    assert not facts.seen("uefi.memmap")
    assert facts.value("uefi.revision") == "2.80"


def test_shell_acpiview_block_decoded(tmp_path: Path) -> None:
    from test_tables_acpiview import QEMU, acpiview_text

    spcr = acpiview_text("SPCR", (QEMU / "spcr.dat").read_bytes(), 0x7C43E818)
    log = "Shell> acpiview -s SPCR\n" + spcr + "Shell> ver\nUEFI v2.70 (EDK II, 0x00010000)\n"
    path = tmp_path / "acpiview.log"
    path.write_text(log)
    facts = read_facts([path])
    assert facts.summary()["acpi.tables"] == ["SPCR"]
    assert facts.summary()["acpi.spcr.interface_type"] == 3
    assert facts.first("acpi.spcr").evidence.source == UEFI_SHELL


def scan_text(text: str) -> Facts:
    from armcheck.parsers.stream import scan_blocks

    facts = Facts()
    scan_blocks([text.encode()], LogParser(facts, "loop.log"))
    return facts


SESSION_START = "UEFI Interactive Shell v2.2\nEDK II\nUEFI v2.70 (EDK II, 0x00010000)\n"
SMBIOS_TYPE_1 = (
    "Shell> smbiosview -t 1\n"
    "Type=1, Handle=0x100\n"
    "Structure Type: System Information\n"
    "Manufacturer: QEMU\n"
    "ProductName: QEMU Virtual Machine\n"
)
SMBIOS_TYPE_2 = (
    "Shell> smbiosview -t 2\n"
    "Type=2, Handle=0x200\n"
    "Structure Type: Base Board Information\n"
    "Manufacturer: QEMU\n"
)


def test_repeated_block_adds_no_observation() -> None:
    once = scan_text(SESSION_START + SMBIOS_TYPE_1 + "Shell> \n")
    twice = scan_text((SESSION_START + SMBIOS_TYPE_1 + "Shell> \n") * 2)
    assert len(twice.all("smbios.system")) == len(once.all("smbios.system")) == 1
    assert twice.first("smbios.system").evidence.line == 5


def test_repeated_smbios_block_keeps_session_types() -> None:
    # The second session repeats the type 1 block and adds type 2: its types are both.
    text = SESSION_START + SMBIOS_TYPE_1 + "Shell> \n"
    text += SESSION_START + SMBIOS_TYPE_1 + SMBIOS_TYPE_2 + "Shell> \n"
    facts = scan_text(text)
    values = [observation.value["types"] for observation in facts.all("smbios.partial_types")]
    assert values == [[1], [1, 2]]
    second = facts.all("smbios.partial_types")[1]
    assert second.evidence.line == 14


def test_smbiosview_by_type_gives_partial_types(shell_facts: Facts) -> None:
    # The capture ran `smbiosview -t 0` and `-t 1`, which show no other type.
    assert not shell_facts.seen("smbios.types")
    partial = shell_facts.value("smbios.partial_types")
    assert partial["types"] == [0, 1]
    assert "`smbiosview -t N` shows type N only" in partial["problems"][0]


WHOLE_LISTING = (
    "Shell> smbiosview\n"
    "Type=0, Handle=0x0\n"
    "Vendor: EDK II\n"
    "Type=1, Handle=0x100\n"
    "Manufacturer: QEMU\n"
    "Type=127, Handle=0xFEFF\n"
    "Structure Type: End-of-Table\n"
)


def test_whole_smbiosview_listing_gives_types() -> None:
    facts = scan_text(SESSION_START + WHOLE_LISTING + "Shell> \n")
    assert facts.value("smbios.types") == [0, 1, 127]
    assert not facts.seen("smbios.partial_types")


def test_repeated_whole_listing_gives_types() -> None:
    # In the second session the listing is a repeat, taken from the first read.
    session = SESSION_START + WHOLE_LISTING + "Shell> \n"
    facts = scan_text(
        session
        + SESSION_START
        + "Shell> smbiosview -t 4\nType=4, Handle=0x400\n"
        + WHOLE_LISTING
        + "Shell> \n"
    )
    values = [observation.value for observation in facts.all("smbios.types")]
    assert values == [[0, 1, 127], [0, 1, 4, 127]]


def test_repeat_cut_elsewhere_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long log reaches the scanner in blocks whose ends fall at other places
    # in each repeat of a session, so one block's output arrives as several runs.
    from armcheck.parsers import uefi_shell
    from armcheck.parsers.stream import scan_blocks

    dmem = "Shell> dmem 5C430018 8\n" + "".join(
        f"  {offset:08X}: 41 42 43 44 45 46 47 48  *ABCDEFGH*\n" for offset in range(0, 400, 8)
    )
    session = (SESSION_START + SMBIOS_TYPE_1 + dmem + "Shell> \n").encode()
    reads: list[str] = []
    readers = dict(uefi_shell._READERS)
    original = readers["smbiosview"]
    readers["smbiosview"] = lambda shell, command, block: (
        reads.append(command),
        original(shell, command, block),
    )
    monkeypatch.setattr(uefi_shell, "_READERS", readers)
    dumps: list[int] = []
    parser = LogParser(Facts(), "loop.log")
    parser.shell._tables = lambda kind, lines: dumps.append(len(lines))
    # Three sessions, the block ends inside the second one's smbiosview and dmem output.
    data = session * 3
    cuts = [len(session) + session.index(b"Structure"), len(session) + session.index(b"  00000100")]
    pieces = [data[: cuts[0]], data[cuts[0] : cuts[1]], data[cuts[1] :]]
    scan_blocks(pieces, parser)
    assert reads == ["smbiosview -t 1"]
    assert dumps == [50]


def test_changed_block_is_read_again() -> None:
    changed = SMBIOS_TYPE_1.replace("QEMU Virtual Machine", "Other Machine")
    facts = scan_text(SESSION_START + SMBIOS_TYPE_1 + SESSION_START + changed + "Shell> \n")
    products = [observation.value["product"] for observation in facts.all("smbios.system")]
    assert products == ["QEMU Virtual Machine", "Other Machine"]
