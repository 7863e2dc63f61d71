"""Native decode of single records: exact values, units, dates, DIB bits.

Each case is raw record bytes (after the 12-byte header) and the value the
standard (EN 13757-3) gives for them, worked out by hand in the comment.
"""

from __future__ import annotations

import struct
from datetime import date, datetime, time
from decimal import Decimal
from types import ModuleType

import pytest

from firmware_bridge.codecs.mbus_link import encode_long_frame
from firmware_bridge.codecs.mbus_records import (
    ApplicationError,
    FixedDataResponse,
    VariableDataResponse,
)
from firmware_bridge.errors import FrameError

from .conftest import VECTORS, read_hex, rsp_ud


def _one(impl: ModuleType, records: str | bytes):
    raw = bytes.fromhex(records) if isinstance(records, str) else records
    telegram = impl.decode_frame(rsp_ud(raw))
    assert isinstance(telegram, VariableDataResponse)
    assert len(telegram.records) == 1
    return telegram.records[0]


@pytest.mark.parametrize(
    ("records", "value", "unit", "quantity"),
    [
        ("0406E7910000", Decimal("37351000"), "Wh", "Energy"),  # 37351 kWh
        ("04142CDB0000", Decimal("561.08"), "m^3", "Volume"),  # 56108 x 10 l
        ("0C1378563412", Decimal("12345.678"), "m^3", "Volume"),  # BCD8 x 1 l
        ("0C13785634F2", Decimal("-2345.678"), "m^3", "Volume"),  # Fh MSD: negative BCD
        ("0E0A563412907856", Decimal("56789012345600"), "J", "Energy"),  # BCD12 x 100 J
        ("025AFF00", Decimal("25.5"), "°C", "Flow temperature"),
        ("015DFF", Decimal("-0.01"), "°C", "Return temperature"),  # int8 -1 x 0.01
        ("0722FEFFFFFFFFFFFFFF", Decimal("-7200"), "s", "On time"),  # int64 -2 hours
        ("0602010000000000", Decimal("0.1"), "Wh", "Energy"),  # int48 1 x 0.1 Wh
        ("02FD48E608", Decimal("227.8"), "V", "Voltage"),  # FD 48h: 0.1 V
        ("02FD5A1027", Decimal("100.00"), "A", "Current"),  # FD 5Ah: 0.01 A
        ("02FB007B00", Decimal("12300000"), "Wh", "Energy"),  # FB 00h: 0.1 MWh
        ("02867D1E00", Decimal("30000000"), "Wh", "Energy"),  # VIFE 7Dh: x 1000
    ],
)
def test_numeric_records_are_exact(impl: ModuleType, records: str, value: Decimal, unit: str,
                                   quantity: str) -> None:
    rec = _one(impl, records)
    assert rec.value == value
    assert str(rec.value) == str(value)
    assert (rec.unit, rec.quantity) == (unit, quantity)


def test_multiplicative_vife_chain_is_applied(impl: ModuleType) -> None:
    # VIF 2Bh (W) + VIFE F4h (10^-2, extension) + 22h (per hour): 1234 x 0.01
    rec = _one(impl, "02ABF422D204")
    assert rec.value == Decimal("12.34")
    assert rec.vife_meanings == ("multiplicative correction factor 1e-2", "per hour")


def test_real32_keeps_its_shortest_repr(impl: ModuleType) -> None:
    rec = _one(impl, b"\x05\x2b" + struct.pack("<f", 1234.5678))
    assert rec.value == Decimal("1234.5677")
    assert rec.coding == "real32"
    rec = _one(impl, b"\x05\x2b" + struct.pack("<f", float("nan")))
    assert rec.value is None and rec.note == "not a finite number"


def test_invalid_bcd_digit_gives_no_value_and_a_note(impl: ModuleType) -> None:
    rec = _one(impl, "0A13AB12")
    assert rec.value is None
    assert rec.note == "invalid BCD digits 12AB"


@pytest.mark.parametrize(
    ("records", "value", "coding"),
    [
        ("426C5F1C", date(2010, 12, 31), "date_g"),  # type G
        ("046D1A2F6511", datetime(2011, 1, 5, 15, 26), "datetime_f"),  # type F
        ("066D0A140C053300", datetime(2024, 3, 5, 12, 20, 10), "datetime_i"),  # type I
        ("036D050403", time(3, 4, 5), "time_j"),  # type J
        ("04FD30002F6511", datetime(2011, 1, 5, 15, 0), "datetime_f"),  # start of tariff
    ],
)
def test_date_and_time_types(impl: ModuleType, records: str, value: object, coding: str) -> None:
    rec = _one(impl, records)
    assert (rec.value, rec.coding) == (value, coding)


def test_invalid_time_flag_is_reported(impl: ModuleType) -> None:
    rec = _one(impl, "046D80000000")
    assert rec.value is None and rec.note == "time invalid (IV bit set)"
    rec = _one(impl, "026C0000")
    assert rec.value is None and rec.note.startswith("invalid date")


@pytest.mark.parametrize(
    ("records", "value", "coding"),
    [
        ("0DFD1103434241", "ABC", "lvar_text"),  # text sent last character first
        ("0D13C23412", Decimal("1.234"), "lvar_bcd"),
        ("0D13D23412", Decimal("-1.234"), "lvar_negative_bcd"),
        ("0D13E3FFFFFF", Decimal("-0.001"), "lvar_binary"),
        ("0D13F0" + "00" * 16, bytes(16), "lvar_binary"),
    ],
)
def test_lvar_codings(impl: ModuleType, records: str, value: object, coding: str) -> None:
    rec = _one(impl, records)
    assert (rec.value, rec.coding) == (value, coding)


def test_reserved_lvar_raises(impl: ModuleType) -> None:
    with pytest.raises(FrameError) as info:
        impl.decode_frame(rsp_ud(bytes.fromhex("0D13F7")))
    assert info.value.field == "LVAR"
    assert info.value.offset == 7 + 12 + 2


def test_plain_text_vif_with_vife(impl: ModuleType) -> None:
    # 02 FC 03 "HR%" reversed, VIFE 74h = 10^-2, data 11D4h = 4564
    rec = _one(impl, "02FC0348522574D411")
    assert rec.quantity == "%RH" and rec.text_unit == "%RH"
    assert rec.value == Decimal("45.64")


def test_manufacturer_specific_vif_still_decodes_the_dif_coding(impl: ModuleType) -> None:
    rec = _one(impl, "02FF01FEFF")
    assert (rec.quantity, rec.unit, rec.value) == ("Manufacturer specific", "", Decimal(-2))
    assert rec.vife == (0x01,)
    assert rec.vife_meanings == ("manufacturer specific VIFE 01",)


def test_vife_7f_makes_the_data_manufacturer_specific(impl: ModuleType) -> None:
    rec = _one(impl, "02937F1234")  # VIF 13h, VIFE 7Fh: data is the manufacturer's
    assert rec.value == b"\x12\x34"
    assert rec.vife_meanings[-1].startswith("next VIFE's and data")


def test_error_flags_are_unsigned(impl: ModuleType) -> None:
    assert _one(impl, "01FD17FF").value == Decimal(255)


def test_storage_tariff_subunit_from_dife_chain(impl: ModuleType) -> None:
    # DIF C4h: storage bit 1; DIFE B3h: tariff 3, storage 3; DIFE 42h: subunit 1, storage 2
    rec = _one(impl, "C4B3421301000000")
    assert (rec.storage_number, rec.tariff, rec.subunit) == (1 | 3 << 1 | 2 << 5, 3, 2)
    assert rec.dife == (0xB3, 0x42)


@pytest.mark.parametrize(("dif", "function"), [
    (0x04, "instantaneous"), (0x14, "maximum"), (0x24, "minimum"), (0x34, "error state")])
def test_function_field(impl: ModuleType, dif: int, function: str) -> None:
    assert _one(impl, bytes((dif, 0x13, 1, 0, 0, 0))).function == function


def test_filler_and_more_records_follow(impl: ModuleType) -> None:
    telegram = impl.decode_frame(rsp_ud(bytes.fromhex("2F2F0113052F1FAABB")))
    assert [r.function for r in telegram.records] == ["instantaneous", "more records follow"]
    assert telegram.records[0].offset == 7 + 12 + 2
    assert telegram.records[1].data == b"\xaa\xbb"
    assert telegram.more_records_follow


def test_too_many_dife_raises(impl: ModuleType) -> None:
    with pytest.raises(FrameError, match="more than 10 DIFE") as info:
        impl.decode_frame(rsp_ud(bytes.fromhex("84" + "80" * 11 + "0013" + "00" * 4)))
    assert info.value.field == "DIFE"


def test_reserved_special_function_dif_raises(impl: ModuleType) -> None:
    with pytest.raises(FrameError) as info:
        impl.decode_frame(rsp_ud(bytes.fromhex("3F00")))
    assert info.value.field == "DIF" and info.value.offset == 19


def test_mode_2_msb_first_matches_mode_1(impl: ModuleType) -> None:
    mode1 = impl.decode_frame(rsp_ud(bytes.fromhex("0C1378563412046D1A2F6511")))
    header2 = bytes.fromhex("12345678") + bytes.fromhex("2C2D") + bytes((8, 4, 0x2A, 0)) \
        + b"\x00\x00"
    mode2 = impl.decode_frame(rsp_ud(bytes.fromhex("0C1312345678046D11652F1A"), ci=0x76,
                                     header=header2))
    assert mode2.header.id == mode1.header.id == 12345678
    assert mode2.header.manufacturer == mode1.header.manufacturer == "KAM"
    assert [r.value for r in mode2.records] == [r.value for r in mode1.records]


def test_header_fields(impl: ModuleType) -> None:
    telegram = impl.decode_frame(read_hex(VECTORS / "test-frames" / "kamstrup_multical_601.hex"))
    h = telegram.header
    assert (h.id, h.id_bcd, h.manufacturer, h.version, h.medium_name, h.access_number) == \
        (6855817, "06855817", "KAM", 8, "Heat: Outlet", 4)


def test_short_header_ci_7a(impl: ModuleType) -> None:
    telegram = impl.decode_frame(encode_long_frame(8, 1, 0x7A, bytes.fromhex("2A00341201130" "5")))
    assert telegram.header is None and telegram.short_header == (0x2A, 0, 0x1234)
    assert telegram.records[0].value == Decimal("0.005")


def test_fixed_data_structure_binary_counters(impl: ModuleType) -> None:
    # status 80h: binary counters; unit 29h (l) and 3Eh (historic)
    data = bytes.fromhex("78563412" "0A" "80" "E9" "7E" "00010000" "FFFFFFFF")
    telegram = impl.decode_frame(encode_long_frame(8, 1, 0x73, data))
    assert isinstance(telegram, FixedDataResponse)
    assert telegram.medium_name == "Water"
    first, second = telegram.counters
    assert (first.raw, first.value, first.unit) == (256, Decimal("0.256"), "m^3")
    assert second.raw == -1 and second.function == "actual"


def test_application_error_unknown_code(impl: ModuleType) -> None:
    telegram = impl.decode_frame(encode_long_frame(8, 1, 0x70, b"\x42"))
    assert isinstance(telegram, ApplicationError)
    assert telegram.text == "Unknown error (0x42)"


@pytest.mark.parametrize(("c", "ci", "field"), [(0x53, 0x72, "C"), (0x08, 0x51, "CI")])
def test_non_response_frames_raise(impl: ModuleType, c: int, ci: int, field: str) -> None:
    with pytest.raises(FrameError) as info:
        impl.decode_frame(encode_long_frame(c, 1, ci, bytes(12)))
    assert info.value.field == field


def test_short_frame_and_ack_carry_no_application_data(impl: ModuleType) -> None:
    for frame in (b"\xe5", bytes.fromhex("1040014116")):
        with pytest.raises(FrameError, match="carries no application data"):
            impl.decode_frame(frame)


def test_vif_tables_cover_every_code() -> None:
    from firmware_bridge.codecs.mbus_tables import ORTHOGONAL_VIFE, VIF_TABLE

    primary = [*range(0x00, 0x7B), 0x7E, 0x7F]
    extensions = [*range(0x100, 0x180), *range(0x200, 0x280)]
    assert [c for c in primary + extensions if c not in VIF_TABLE] == []
    assert sorted(ORTHOGONAL_VIFE) == list(range(0x80))


@pytest.mark.parametrize(
    ("records", "value", "unit", "quantity"),
    [
        ("02FB1B2C01", Decimal("300"), "%", "Relative humidity"),  # FB 1Bh: 1 %
        ("02FB2D8813", Decimal("50.00"), "Hz", "Frequency"),  # FB 2Dh: 0.01 Hz
        ("01FD7416", Decimal("1900800"), "s", "Remaining battery life time"),  # 22 days
    ],
)
def test_en13757_2013_extension_codes(impl: ModuleType, records: str, value: Decimal,
                                      unit: str, quantity: str) -> None:
    rec = _one(impl, records)
    assert (rec.value, rec.unit, rec.quantity) == (value, unit, quantity)


def test_mode_2_xml_matches_mode_1_records(impl: ModuleType) -> None:
    from firmware_bridge.codecs.mbus_xml import to_libmbus_xml

    mode1 = impl.decode_frame(rsp_ud(bytes.fromhex("0C1378563412046D1A2F6511")))
    mode2 = impl.decode_frame(rsp_ud(bytes.fromhex("0C1312345678046D11652F1A"), ci=0x76))
    records1 = to_libmbus_xml(mode1).split("<DataRecord", 1)[1]
    records2 = to_libmbus_xml(mode2).split("<DataRecord", 1)[1]
    assert records1 == records2
    assert "<Value>12345.678000</Value>" in records1
