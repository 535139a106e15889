"""Input detection and reading: every kind of input, encoding and line prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from armcheck.capture import CaptureWriter
from armcheck.errors import InputFormatError
from armcheck.facts import Facts
from armcheck.inputs import detect, read_facts

LOGS = Path(__file__).parent / "fixtures" / "logs"
MUSTANG = LOGS / "mustang-uefi-dt.log"
CASES = Path(__file__).resolve().parents[2] / "shared" / "cases"


def mustang_lines() -> list[str]:
    return MUSTANG.read_text().splitlines()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_mustang(path: Path) -> None:
    summary = read_facts([path]).summary()
    assert summary["linux.version"] == "4.19.0-323-arm64"
    assert summary["firmware.version"] == "3.06.25"
    assert summary["console.device"] == "ttyS0"
    assert summary["boot.method"] == "devicetree"


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("utf8.log", lambda text: text.encode("utf-8")),
        ("crlf.log", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
        ("cr-lf-cr.log", lambda text: text.replace("\n", "\n\r").encode("utf-8")),
        ("utf8-bom.log", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("utf16le.log", lambda text: text.replace("\n", "\r\n").encode("utf-16")),
        ("utf16be.log", lambda text: b"\xfe\xff" + text.encode("utf-16-be")),
        ("utf16le-no-bom.log", lambda text: text.encode("utf-16-le")),
        ("latin1.log", lambda text: ("Caf\xe9 \xb5s\n" + text).encode("latin-1")),
    ],
)
def test_console_log_encoding(tmp_path: Path, name: str, encode) -> None:
    text = "\n".join(mustang_lines()) + "\n"
    assert_mustang(write(tmp_path, name, encode(text)))


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("mail.log", lambda n: "> "),
        ("mail-twice.log", lambda n: "> > "),
        ("grabserial.log", lambda n: f"[{n * 0.01:.6f} 0.010000] "),
        ("clock.log", lambda n: f"23:59:{50 + n // 100:02d}.{n % 100:03d} "),
        ("iso.log", lambda n: f"2024-05-01T10:00:{n // 100:02d}.{n % 100:03d}Z "),
        ("bracket-clock.log", lambda n: f"[10:00:{n // 100:02d}.{n % 100:03d}] "),
        ("kern.log", lambda n: f"Dec  4 10:00:{n // 100:02d} mustang kernel: "),
        ("grabserial-T.log", lambda n: f"[10:00:{n // 100:02d}.{n % 100:03d}000 0.010000] "),
        ("iso-space.log", lambda n: f"2024-05-01 10:00:{n // 100:02d}.{n % 100:03d} "),
        ("python-logging.log", lambda n: f"2024-05-01 10:00:{n // 100:02d},{n % 100:03d} "),
        ("ts.log", lambda n: f"May 01 10:00:{n // 100:02d}.{n % 100:03d}000 "),
    ],
)
def test_console_log_line_prefix(tmp_path: Path, name: str, prefix) -> None:
    lines = [prefix(number) + line for number, line in enumerate(mustang_lines())]
    assert_mustang(write(tmp_path, name, ("\n".join(lines) + "\n").encode()))


def test_host_timestamp_kept_as_time(tmp_path: Path) -> None:
    # grabserial -t counts from its own start; an excerpt counts from its first line.
    lines = [
        "[1.000000 0.000000] U-Boot 2024.01 (Jan 01 2024)",
        "[3.250000 2.250000] [    0.014257] SMBIOS 3.0.0 present.",
    ]
    facts = read_facts([write(tmp_path, "grab.log", "\n".join(lines).encode())])
    assert facts.first("smbios.version").evidence.time == pytest.approx(2.25)


def test_clock_timestamp_relative_to_first(tmp_path: Path) -> None:
    lines = ["23:59:59.500 U-Boot 2024.01 (Jan 01 2024)", "00:00:01.000 [    0.1] psci: PSCIv1.1"]
    lines[1] += " detected in firmware."
    facts = read_facts([write(tmp_path, "clock.log", "\n".join(lines).encode())])
    assert facts.first("psci.version").evidence.time == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("first", "second", "seconds"),
    [
        ("[23:59:59.500000 0.000000] ", "[00:00:01.000000 1.500000] ", 1.5),
        ("2024-05-01 23:59:59.500 ", "2024-05-02 00:00:01.000 ", 1.5),
        ("2024-05-01 23:59:59,500 ", "2024-05-02 00:00:01,000 ", 1.5),
        ("May 01 23:59:59.500000 ", "May 02 00:00:01.000000 ", 1.5),
        ("May  1 23:59:59 ", "May  2 00:00:01 ", 2.0),
    ],
)
def test_host_timestamp_forms_timed(
    tmp_path: Path, first: str, second: str, seconds: float
) -> None:
    lines = [
        first + "UEFI firmware (version 1.0 built at 13:10:49 on Nov  5 2024)",
        second + "[    0.1] psci: PSCIv1.1 detected in firmware.",
    ]
    facts = read_facts([write(tmp_path, "stamped.log", "\n".join(lines).encode())])
    assert facts.value("firmware.version") == "1.0"
    assert facts.first("firmware.version").evidence.time == pytest.approx(0.0)
    assert facts.value("psci.version") == "1.1"
    assert facts.first("psci.version").evidence.time == pytest.approx(seconds)


def test_grabserial_wall_clock_acpi_error_counted(tmp_path: Path) -> None:
    # The message after grabserial -T's `[wall-clock delta] ` must reach the
    # Linux parser, or a log with an ACPI error reads as a clean boot.
    lines = [
        "[10:00:00.360000 0.000000] [    0.000000] Linux version 6.1.0-57-arm64 (gcc 12)",
        "[10:00:00.375000 0.015000] [    0.520000] ACPI BIOS Error (bug): Could not resolve"
        " symbol [\\_SB.PCI0], AE_NOT_FOUND (20220331/dswload2-162)",
    ]
    summary = read_facts([write(tmp_path, "grab.log", "\n".join(lines).encode())]).summary()
    assert summary["linux.version"] == "6.1.0-57-arm64"
    assert summary["linux.acpi_errors"] == 1


def test_dmesg_without_timestamps(tmp_path: Path) -> None:
    lines = [line.split("] ", 1)[-1] for line in mustang_lines()]
    assert_mustang(write(tmp_path, "dmesg.txt", ("\n".join(lines) + "\n").encode()))


def test_dmesg_human_times(tmp_path: Path) -> None:
    lines = [
        f"[Fri Dec  4 20:00:{number // 100:02d} 2026] " + line.split("] ", 1)[-1]
        for number, line in enumerate(mustang_lines())
    ]
    assert_mustang(write(tmp_path, "dmesg-T.txt", ("\n".join(lines) + "\n").encode()))


def test_dmesg_syslog_levels(tmp_path: Path) -> None:
    lines = ["<6>" + line for line in mustang_lines()]
    assert_mustang(write(tmp_path, "dmesg-r.txt", ("\n".join(lines) + "\n").encode()))


def test_printk_caller_ids(tmp_path: Path) -> None:
    facts = read_facts([LOGS / "emag-caller-id.log"])
    assert facts.value("linux.version") == "5.13.0-rc3-next-20210526+"
    assert facts.value("psci.version") == "1.0"


def test_escape_sequences_in_log(tmp_path: Path) -> None:
    text = "\x1b[0m\x1b[1;1H\x1b[2J" + "\n".join(
        f"\x1b[32m{line}\x1b[0m" for line in mustang_lines()
    )
    assert_mustang(write(tmp_path, "colour.log", text.encode()))


def test_lava_log(tmp_path: Path) -> None:
    entries = [{"dt": "2024-05-01T10:00:00.000000", "lvl": "info", "msg": "start: 1 deploy"}]
    for number, line in enumerate(mustang_lines()):
        stamp = f"2024-05-01T10:00:{1 + number // 100:02d}.{number % 100:02d}0000"
        entries.append({"dt": stamp, "lvl": "target", "msg": line})
    text = "".join(f"- {json.dumps(entry)}\n" for entry in entries)
    path = write(tmp_path, "log.yaml", text.encode())
    assert detect(path)[0] == "lava-log"
    assert_mustang(path)


def test_lava_evidence_cites_file_line(tmp_path: Path) -> None:
    # Three records before the target output: the banner is on line 4 of the file.
    entries = [
        {"dt": "2024-05-01T10:00:00", "lvl": "info", "msg": "start: 1 deploy"},
        {"dt": "2024-05-01T10:00:01", "lvl": "debug", "msg": "power on"},
        {"dt": "2024-05-01T10:00:02", "lvl": "input", "msg": "\n"},
        {"dt": "2024-05-01T10:00:03", "lvl": "target", "msg": "U-Boot 2024.01 (Jan 01 2024)"},
    ]
    text = "".join(f"- {json.dumps(entry)}\n" for entry in entries)
    facts = read_facts([write(tmp_path, "log.yaml", text.encode())])
    banner = facts.first("firmware.banner")
    assert banner is not None
    assert banner.evidence.line == 4
    assert facts.inputs[0]["lines"] == 4


def test_capture_keeps_arrival_time(tmp_path: Path) -> None:
    path = tmp_path / "run.cast"
    with CaptureWriter(path, target="board") as writer:
        writer.output(b"U-Boot 2024.01 (Jan 01 2024 - 10:00:00)\r\n", at=0.5)
        writer.output(b"[    0.000000] psci: PSCIv1.1 de", at=2.0)
        writer.output(b"tected in firmware.\r\n", at=2.25)
    facts = read_facts([path])
    assert detect(path)[0] == "capture"
    assert facts.value("firmware.version") == "2024.01"
    assert facts.first("psci.version").evidence.time == pytest.approx(2.0)


def test_several_inputs_merge(tmp_path: Path) -> None:
    facts = read_facts([MUSTANG, LOGS / "emag-dmidecode.txt"])
    assert [entry["kind"] for entry in facts.inputs] == ["console-log", "dmidecode"]
    assert facts.summary()["linux.version"] == "4.19.0-323-arm64"
    assert facts.value("smbios.bios")["vendor"] == "Ampere(TM)"


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("spcr.dat", b"SPCR" + (80).to_bytes(4, "little") + b"\x02" + bytes(71), "acpi-binary"),
        ("rsdp.bin", b"RSD PTR " + bytes(28), "acpi-binary"),
        ("dmi.bin", b"_SM3_" + bytes(27), "smbios-binary"),
        ("acpidump.txt", b"DSDT @ 0x0000000000000000\n    0000: 44 53 44 54\n", "acpidump"),
        ("spcr.dsl", b"/*\n * Intel ACPI Component Architecture\n */\n", "dsl"),
        ("dmi.txt", b"# dmidecode 3.2\nHandle 0x0000, DMI type 0, 26 bytes\n", "dmidecode"),
        ("tables.txt", b"Signature : APIC\r\nFirmware Provider : ACPI\r\n", "table-list"),
        ("boot.log", b"[    0.0] Linux version 6.1.0\n", "console-log"),
    ],
)
def test_detect_kind(tmp_path: Path, name: str, data: bytes, kind: str) -> None:
    assert detect(write(tmp_path, name, data))[0] == kind


def test_table_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    spcr = b"SPCR" + (80).to_bytes(4, "little") + b"\x02" + bytes(71)
    (folder / "SPCR").write_bytes(spcr)
    facts = read_facts([folder])
    assert facts.summary()["acpi.tables"] == ["SPCR"]


def test_empty_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"empty\.log: the file is empty"):
        read_facts([write(tmp_path, "empty.log", b"")])


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="nothing-here.log"):
        read_facts([tmp_path / "nothing-here.log"])


def test_binary_file_rejected(tmp_path: Path) -> None:
    data = bytes(range(256)) * 64
    with pytest.raises(InputFormatError, match="binary data"):
        read_facts([write(tmp_path, "image.bin", data)])


def test_text_without_console_lines_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "list.txt", b"Shopping list\neggs\nmilk\n")
    with pytest.raises(
        InputFormatError, match=r"list\.txt: not a known input: none of its 3 lines"
    ):
        read_facts([path])


def test_kernel_log_without_facts_accepted(tmp_path: Path) -> None:
    # Its messages carry no fact, but their printk timestamps make it a kernel log.
    path = write(tmp_path, "usb.log", b"[    1.5] usb 1-1: new device\n[    1.6] usb 1-1: gone\n")
    facts = read_facts([path])
    assert facts.inputs[0]["kind"] == "console-log"
    assert facts.summary()["linux.version"] is None


def test_second_copy_of_a_log_accepted(tmp_path: Path) -> None:
    # The copy adds no new value, but its lines are recognised all the same.
    text = b"UEFI firmware (version 2022.11-6 built at 07:00:00 on Jan  1 2023)\n"
    first = write(tmp_path, "first.log", text)
    second = write(tmp_path, "second.log", text)
    facts = read_facts([first, second])
    assert [entry["file"] for entry in facts.inputs] == [str(first), str(second)]


def test_asciicast_v1_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "old.cast", b'{"version": 1, "width": 80, "stdout": []}\n')
    with pytest.raises(InputFormatError, match="version 1"):
        read_facts([path])


def test_empty_folder_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFormatError, match="no readable input"):
        read_facts([tmp_path / "empty"])


def test_folder_skips_hidden_and_summarises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import random

    from armcheck.inputs import read_facts

    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "boot.log").write_text("Linux version 9.9.9 (hidden)\n")
    (tmp_path / "boot.log").write_text("[    0.000000] Linux version 6.1.0-57-arm64 (x)\n")
    noise = random.Random(7)
    for number in range(7):
        (tmp_path / f"noise{number}.bin").write_bytes(noise.randbytes(4096))
    with caplog.at_level(logging.WARNING):
        facts = read_facts([tmp_path])
    assert [obs.value for obs in facts.all("linux.version")] == ["6.1.0-57-arm64"]
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 7 files" in warnings[0].getMessage()
    assert "and 2 more" in warnings[0].getMessage()


TABLES = Path(__file__).parent / "fixtures" / "tables"


@pytest.mark.parametrize("name", ["qemu-virt-acpidump.txt", "qemu-virt-dmem.log"])
def test_untimed_table_text_has_no_evidence_time(name: str) -> None:
    # Neither file has timestamps: a time in the evidence would be made up.
    facts = read_facts([TABLES / name])
    tables = facts.all("acpi.table")
    assert tables
    assert all(observation.evidence.time is None for observation in tables)
    assert "@" not in tables[0].evidence.where()


def test_capture_table_evidence_keeps_arrival_time() -> None:
    # Tables read from the shell's `dmem` output keep the time the dump arrived.
    capture = Path(__file__).resolve().parents[1] / "captures" / "qemu-virt-edk2-shell.cast"
    facts = read_facts([capture])
    tables = [obs for obs in facts.all("acpi.table") if obs.evidence.source == "uefi-shell"]
    assert tables
    assert all(obs.evidence.time is not None and obs.evidence.time > 0 for obs in tables)


def values(facts: Facts) -> dict[str, list[object]]:
    return {key: [obs.value for obs in facts.all(key)] for key in facts.keys()}


def test_carriage_return_line_ends(tmp_path: Path) -> None:
    text = MUSTANG.read_bytes().replace(b"\r\n", b"\n")
    cr_only = write(tmp_path, "cr.log", text.replace(b"\n", b"\r"))
    lf_only = write(tmp_path, "lf.log", text)
    cr_facts = read_facts([cr_only])
    lf_facts = read_facts([lf_only])
    assert cr_facts.inputs[0]["lines"] == lf_facts.inputs[0]["lines"]
    assert values(cr_facts) == values(lf_facts)
    assert values(cr_facts)


def test_utf16_carriage_return_line_ends(tmp_path: Path) -> None:
    text = MUSTANG.read_bytes().replace(b"\r\n", b"\n").decode("utf-8", "replace")
    path = write(tmp_path, "cr16.log", text.replace("\n", "\r").encode("utf-16"))
    assert values(read_facts([path])) == values(
        read_facts([write(tmp_path, "lf.log", text.encode())])
    )


SPCR = TABLES / "qemu-virt" / "spcr.dat"


@pytest.mark.parametrize("length", [0, 20])
def test_table_with_short_length_field_read(tmp_path: Path, length: int) -> None:
    data = SPCR.read_bytes()
    path = write(tmp_path, "spcr.dat", data[:4] + length.to_bytes(4, "little") + data[8:])
    table = read_facts([path]).first("acpi.table")
    assert table is not None
    assert table.value["signature"] == "SPCR"
    assert f"length field {length} is shorter" in table.value["problems"][0]


@pytest.mark.parametrize("size", [8, 20, 35])
def test_table_cut_inside_header_partial(tmp_path: Path, size: int) -> None:
    path = write(tmp_path, "spcr.dat", SPCR.read_bytes()[:size])
    table = read_facts([path]).value("acpi.table")
    assert table["signature"] == "SPCR"
    assert table["problems"] == [f"cut inside its header: {size} of 36 bytes present"]
    # Fields past the cut are left out, not read from padding.
    assert ("oem_table_id" in table) == (size >= 24)
    assert ("revision" in table) == (size >= 9)


def test_table_cut_before_length_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "spcr.dat", SPCR.read_bytes()[:6])
    with pytest.raises(InputFormatError, match="6 bytes is too short for an ACPI table"):
        read_facts([path])


def test_bare_smbios_table_read() -> None:
    facts = read_facts([TABLES / "qemu-virt-dmi" / "DMI"])
    assert facts.inputs[0]["kind"] == "smbios-binary"
    assert facts.value("smbios.bios") is not None


def test_json_document_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "report.json", b'{\n  "summary": {"console.uart": "ttyAMA0"}\n}\n')
    with pytest.raises(InputFormatError, match=r"report\.json: not a known input: a JSON document"):
        read_facts([path])


def test_run_folder_reads_capture_only(tmp_path: Path) -> None:
    # A folder of `armcheck run`: the capture is read, its reports are skipped.
    capture = Path(__file__).resolve().parents[1] / "captures" / "qemu-virt-edk2-linux.cast"
    run = tmp_path / "run"
    run.mkdir()
    (run / "capture.cast").write_bytes(capture.read_bytes())
    (run / "report.json").write_text('{"results": [{"seen": "ttyAMA0 is a SBSA\\""}]}\n')
    (run / "junit.xml").write_text('<?xml version="1.0"?>\n<testsuites/>\n')
    facts = read_facts([run])
    assert [entry["kind"] for entry in facts.inputs] == ["capture"]


def hexdump_canonical(data: bytes) -> str:
    """Return `data` as `hexdump -C` prints it."""
    rows = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        pairs = [f"{byte:02x}" for byte in chunk] + ["  "] * (16 - len(chunk))
        characters = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        rows.append(f"{offset:08x}  {' '.join(pairs[:8])}  {' '.join(pairs[8:])}  |{characters}|")
    rows.append(f"{len(data):08x}")
    return "\n".join(rows) + "\n"


def xxd_plain(data: bytes) -> str:
    """Return `data` as xxd prints it: two bytes a group, then the characters."""
    rows = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        groups = " ".join(chunk[index : index + 2].hex() for index in range(0, len(chunk), 2))
        characters = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        rows.append(f"{offset:08x}: {groups:<39}  {characters}")
    return "\n".join(rows) + "\n"


def od_bytes(data: bytes) -> str:
    """Return `data` as `od -Ax -tx1` prints it."""
    rows = [
        f"{offset:06x} " + " ".join(f"{byte:02x}" for byte in data[offset : offset + 16])
        for offset in range(0, len(data), 16)
    ]
    return "\n".join(rows + [f"{len(data):06x}"]) + "\n"


@pytest.mark.parametrize("form", ["base64", "hexdump", "xxd", "od"])
def test_printed_table_read(tmp_path: Path, form: str) -> None:
    import base64

    data = SPCR.read_bytes()
    if form == "base64":
        text = base64.encodebytes(data)
    elif form == "hexdump":
        text = hexdump_canonical(data).encode()
    elif form == "xxd":
        text = xxd_plain(data).encode()
    else:
        text = od_bytes(data).encode()
    path = write(tmp_path, f"spcr.{form}", text)
    facts = read_facts([path])
    assert facts.inputs[0]["kind"] == "dump-text"
    assert facts.summary()["acpi.tables"] == ["SPCR"]
    assert facts.summary()["acpi.spcr.interface_type"] == 3
    assert facts.value("acpi.table")["checksum_ok"] is True


def test_quiet_dmidecode_rejected_with_hint(tmp_path: Path) -> None:
    text = b"System Information\n\tManufacturer: QEMU\n\tProduct Name: QEMU Virtual Machine\n\n"
    with pytest.raises(InputFormatError, match="run dmidecode without -q"):
        read_facts([write(tmp_path, "dmi-q.txt", text)])


def test_host_clock_starts_at_first_line(tmp_path: Path) -> None:
    # The first two lines hold no fact; times still count from the first stamp.
    text = (
        b"10:00:00.000 power on\n"
        b"10:00:01.000 line noise\n"
        b"10:00:02.500 UEFI firmware (version 2022.11 built at 10:00:00 on Jan  1 2023)\n"
    )
    banner = read_facts([write(tmp_path, "clock.log", text)]).first("firmware.banner")
    assert banner is not None
    assert banner.evidence.time == 2.5


def test_elf_file_not_an_smbios_table(tmp_path: Path) -> None:
    # An ELF header reads as a type 127 structure of length 0x45 followed by strings.
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\xb7\x00" + bytes(44) + b"ld\x00\x00"
    with pytest.raises(InputFormatError, match="not a known input"):
        read_facts([write(tmp_path, "bl31.elf", elf)])


@pytest.mark.parametrize(
    "stamps",
    [
        ("Apr 30 23:59:50.000000 ", "May  1 00:00:01.000000 "),
        ("Dec 31 23:59:50.000000 ", "Jan  1 00:00:01.000000 "),
        ("23:59:50.000 ", "00:00:01.000 "),
    ],
    ids=["month-end", "year-end", "midnight"],
)
def test_host_clock_counts_past_end_of_day(tmp_path: Path, stamps: tuple[str, str]) -> None:
    first, second = stamps
    text = (
        f"{first}UEFI firmware (version 2022.11 built at 10:00:00 on Jan  1 2023)\n"
        f"{second}[    0.000000] Linux version 6.1.0-57-arm64 (gcc 12)\n"
    )
    facts = read_facts([write(tmp_path, "night.log", text.encode())])
    version = facts.first("linux.version")
    assert version is not None
    assert version.evidence.time == 11.0


THUNDERX = Path(__file__).parent / "fixtures" / "checks" / "thunderx-r120-t33-excerpt.log"


@pytest.mark.parametrize(
    ("form", "prefix"),
    [("dmesg -x", rb"kern  :info  : \1 "), ("journalctl short-monotonic", rb"\1 thunder kernel: ")],
)
def test_kernel_log_forms_read(tmp_path: Path, form: str, prefix: bytes) -> None:
    import re

    plain = THUNDERX.read_bytes()
    text = re.sub(rb"(?m)^(\[ *\d+\.\d+\]) ", prefix, plain)
    assert text != plain
    assert values(read_facts([write(tmp_path, "kernel.log", text)])) == values(
        read_facts([THUNDERX])
    )
