"""The master's requests on the wire, byte for byte (EN 13757-2 / -3)."""

from __future__ import annotations

import pytest

from firmware_bridge.codecs.mbus_encode import (
    DataField,
    DataRecord,
    FixedHeader,
    ManufacturerData,
    VariableDataTelegram,
)
from firmware_bridge.transports.mbus_master import SecondaryMask
from simulators.mbus_slave import MBusSlave

from .mbus_bus_helpers import BusFactory, slave


def _hex(frame: bytes) -> str:
    return frame.hex(" ").upper()


def test_primary_read_sends_snd_nke_then_req_ud2_with_fcb_toggling(pty_bus: BusFactory) -> None:
    header = FixedHeader(1, "ABC", 1, 7)
    more = VariableDataTelegram(header, (DataRecord(DataField.INT8, 0x13, 1),),
                                ManufacturerData(b"", more_records_follow=True))
    last = VariableDataTelegram(header, (DataRecord(DataField.INT8, 0x13, 2),))
    master, bus = pty_bus([MBusSlave.from_encoded([more, more, last], primary_address=5)])
    master.read(5)
    assert [_hex(f) for f in bus.heard] == [
        "10 40 05 45 16",  # SND_NKE
        "10 7B 05 80 16",  # REQ_UD2, FCV=1 FCB=1
        "10 5B 05 60 16",  # REQ_UD2, FCB toggled to 0
        "10 7B 05 80 16",  # and back to 1
    ]


@pytest.mark.parametrize(
    ("mask", "data"),
    [
        # ID BCD least significant byte first, then Man (LE), version, medium
        ("12345678FFFFFFFF", "78 56 34 12 FF FF FF FF"),
        ("FFFFFFFFFFFFFFFF", "FF FF FF FF FF FF FF FF"),
        ("1F3F5F7F2C2D1B04", "7F 5F 3F 1F 2D 2C 1B 04"),
    ],
)
def test_selection_frame_layout(pty_bus: BusFactory, mask: str, data: str) -> None:
    assert _hex(SecondaryMask.parse(mask).select_data()) == data
    master, bus = pty_bus([slave(1, primary=1)])
    master.select(mask)
    payload = bytes.fromhex(data)
    cs = (0x53 + 0xFD + 0x52 + sum(payload)) & 0xFF
    assert _hex(bus.heard[-1]) == f"68 0B 0B 68 53 FD 52 {data} {cs:02X} 16"


def test_application_reset_and_baud_rate_frames(pty_bus: BusFactory) -> None:
    master, bus = pty_bus([slave(1, primary=5)])
    master.application_reset(5)
    master.application_reset(5, subcode=0x10)
    master.set_baudrate(5, 9600)
    assert [_hex(f) for f in bus.heard] == [
        "68 03 03 68 53 05 50 A8 16",  # SND_UD, CI 50h
        "68 04 04 68 53 05 50 10 B8 16",  # with subcode 10h
        "68 03 03 68 53 05 BD 15 16",  # CI BDh = 9600 baud
    ]
