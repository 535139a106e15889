"""Decoders for the serial console tables: SPCR and DBG2.

SPCR follows Microsoft's "Serial Port Console Redirection Table" document,
version 1.09 of April 2023, which defines table revisions 1 to 4. DBG2
follows Microsoft's "Microsoft Debug Port Table 2 (DBG2)" specification.
Both tables use the same serial port subtypes ("interface types").
"""

from __future__ import annotations

from typing import Any

from armcheck.acpi.header import AcpiTable, read_generic_address, read_uint

# SPCR Baud Rate field: the codes the specification defines. Code 0 means
# "as is", the rate the firmware already configured, which is None here.
SPCR_BAUD_RATES: dict[int, int | None] = {0: None, 3: 9600, 4: 19200, 6: 57600, 7: 115200}

# Serial port subtypes shared by the SPCR Interface Type and the DBG2 Port
# Subtype of serial ports (port type 0x8000), from the DBG2 specification.
SERIAL_SUBTYPES: dict[int, str] = {
    0x00: "16550 compatible",
    0x01: "16550 subset (DBGP revision 1)",
    0x02: "MAX311xE SPI UART",
    0x03: "Arm PL011 UART",
    0x04: "MSM8x60",
    0x05: "Nvidia 16550",
    0x06: "TI OMAP",
    0x08: "APM88xxxx",
    0x09: "MSM8974",
    0x0A: "SAM5250",
    0x0B: "Intel USIF",
    0x0C: "i.MX 6",
    0x0D: "Arm SBSA Generic UART (2.x, 32-bit access only)",
    0x0E: "Arm SBSA Generic UART",
    0x0F: "Arm DCC",
    0x10: "BCM2835",
    0x11: "SDM845 at 1.8432 MHz",
    0x12: "16550 compatible with Generic Address Structure parameters",
    0x13: "SDM845 at 7.372 MHz",
    0x14: "Intel LPSS",
    0x15: "RISC-V SBI console",
}


def _check_access_size(table: AcpiTable, what: str, access_size: int) -> None:
    # Generic Address Structure Access Size (ACPI 6.5, 5.2.3.2): 0 undefined,
    # 1 byte, 2 word, 3 dword, 4 qword; larger values are reserved.
    if access_size > 4:
        table.problems.append(
            f"{what} access size {access_size} (0x{access_size:02X}) is not a valid "
            "encoding (0 to 4)"
        )


def baud_from_code(code: int) -> int | None:
    """Map an SPCR baud rate code to bits per second; None for 0 (as configured) or unknown."""
    return SPCR_BAUD_RATES.get(code)


def decode_spcr(table: AcpiTable) -> dict[str, Any]:
    """Decode an SPCR. Fields past the end of a truncated table are left out of the result."""
    data = table.data
    value: dict[str, Any] = {"revision": table.revision}
    interface_type = read_uint(data, 36, 1)
    if interface_type is not None:
        value["interface_type"] = interface_type
        if interface_type not in SERIAL_SUBTYPES:
            table.problems.append(f"interface type 0x{interface_type:02X} is reserved")
    address = read_generic_address(data, 40)
    if address is not None:
        value["base_address"] = address.to_json()
        _check_access_size(table, "base address", address.access_size)

    simple_fields = (
        ("interrupt_type", 52, 1),
        ("irq", 53, 1),
        ("gsiv", 54, 4),
        ("baud_code", 58, 1),
        ("parity", 59, 1),
        ("stop_bits", 60, 1),
        ("flow_control", 61, 1),
        ("terminal_type", 62, 1),
        ("pci_device_id", 64, 2),
        ("pci_vendor_id", 66, 2),
        ("pci_bus", 68, 1),
        ("pci_device", 69, 1),
        ("pci_function", 70, 1),
        ("pci_flags", 71, 4),
        ("pci_segment", 75, 1),
    )
    for name, offset, size in simple_fields:
        number = read_uint(data, offset, size)
        if number is not None:
            value[name] = number

    if "baud_code" in value:
        code = value["baud_code"]
        value["baud"] = baud_from_code(code)
        if code not in SPCR_BAUD_RATES:
            table.problems.append(f"baud rate code {code} is reserved")
    # Revision 3 adds the UART clock frequency. Revision 4 adds a namespace
    # path and a precise baud rate, which replaces the baud rate code when set.
    if table.revision >= 3:
        clock = read_uint(data, 76, 4)
        if clock is not None:
            value["uart_clock_frequency"] = clock
    if table.revision >= 4:
        _decode_spcr_revision4(table, value)
    return value


def _decode_spcr_revision4(table: AcpiTable, value: dict[str, Any]) -> None:
    data = table.data
    precise = read_uint(data, 80, 4)
    if precise is not None:
        value["precise_baud_rate"] = precise
        if precise:
            value["baud"] = precise
    # NOTE: the SPCR document lists NameSpaceStringLength at offset 82, inside
    # the 4-byte Precise Baud Rate at 80. Offsets 84 and 86 follow the field
    # sizes it gives, as ACPICA's actbl3.h does.
    length = read_uint(data, 84, 2)
    offset = read_uint(data, 86, 2)
    if length and offset is not None:
        raw = data[offset : offset + length]
        if len(raw) < length:
            table.problems.append("namespace string runs past the end of the table")
        value["namespace"] = raw.split(b"\x00", 1)[0].decode("ascii", "replace")


def decode_dbg2(table: AcpiTable) -> dict[str, Any]:
    """Decode the DBG2 debug device information structures."""
    data = table.data
    devices: list[dict[str, Any]] = []
    value: dict[str, Any] = {"revision": table.revision, "devices": devices}
    offset = read_uint(data, 36, 4)
    count = read_uint(data, 40, 4)
    if offset is None or count is None:
        table.problems.append("truncated before the device information count")
        return value
    value["count"] = count
    for index in range(count):
        device, length = _decode_dbg2_device(table, offset, index)
        if device is None:
            break
        devices.append(device)
        offset += length
    return value


def _decode_dbg2_device(
    table: AcpiTable, start: int, index: int
) -> tuple[dict[str, Any] | None, int]:
    data = table.data
    if start + 22 > len(data):
        table.problems.append(f"device {index} is cut short at offset {start}")
        return None, 0

    def field(offset: int, size: int) -> int:
        return int.from_bytes(data[start + offset : start + offset + size], "little")

    length = field(1, 2)
    if length < 22:
        table.problems.append(f"device {index} has an invalid length {length}")
        return None, 0
    address_offset = field(18, 2)
    size_offset = field(20, 2)
    addresses = []
    sizes = []
    for register in range(field(3, 1)):
        gas = read_generic_address(data, start + address_offset + 12 * register)
        if gas is None:
            table.problems.append(f"device {index} base address register {register} is cut short")
            break
        addresses.append(gas.address)
        sizes.append(read_uint(data, start + size_offset + 4 * register, 4))
        _check_access_size(table, f"device {index} register {register}", gas.access_size)
    name_offset = start + field(6, 2)
    name = data[name_offset : name_offset + field(4, 2)]
    device = {
        "revision": field(0, 1),
        "port_type": field(12, 2),
        "port_subtype": field(14, 2),
        "addresses": addresses,
        "address_sizes": sizes,
        "namespace": name.split(b"\x00", 1)[0].decode("ascii", "replace"),
    }
    return device, length
