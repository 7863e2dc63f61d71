"""EN 13757-3 encoder: byte tables, libmbus vectors, and round trip through our decoder."""

from __future__ import annotations

import datetime as dt
import os
import struct
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from firmware_bridge.codecs.mbus import decode_frame, decode_user_data
from firmware_bridge.codecs.mbus_encode import (
    DataField,
    DataRecord,
    FixedHeader,
    Function,
    IdleFiller,
    ManufacturerData,
    encode_bcd,
    encode_fixed_header,
    encode_record,
    encode_rsp_ud,
)
from firmware_bridge.codecs.mbus_link import LongFrame, parse_link_frame
from firmware_bridge.transports.mbus_master import more_records_follow
from simulators.mbus_slave import hex_file_bytes

from .mbus_bus_helpers import VECTORS

EXAMPLES = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "100"))


def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


@pytest.mark.parametrize(
    ("record", "wire"),
    [
        # from ACW_Itron-BM-plus-m.hex: fabrication no 11490378, BCD8
        (DataRecord(DataField.BCD8, 0x78, 11490378), "0C 78 78 03 49 11"),
        # from the same frame: volume 54321 l as int32 (VIF 13h = 10^-3 m^3)
        (DataRecord(DataField.INT32, 0x13, 54321), "04 13 31 D4 00 00"),
        # negative BCD: Fh in the top nibble (EN 13757-3 annex A)
        (DataRecord(DataField.BCD8, 0x13, -1234567), "0C 13 67 45 23 F1"),
        (DataRecord(DataField.BCD12, 0x03, 123456789012), "0E 03 12 90 78 56 34 12"),
        # storage 5 -> DIF bit 6 + DIFE 2; tariff 2, subunit 1 in the DIFE
        (DataRecord(DataField.INT16, 0x13, -2, storage=5, tariff=2, subunit=1),
         "C2 62 13 FE FF"),
        # storage 33 needs two DIFEs (1 + 4 + 4 bits)
        (DataRecord(DataField.INT8, 0x13, 7, storage=33), "C1 80 01 13 07"),
        (DataRecord(DataField.INT8, 0x13, 7, min_dife=1), "81 00 13 07"),
        (DataRecord(DataField.INT24, 0x5B, 70, function=Function.MAXIMUM), "13 5B 46 00 00"),
        (DataRecord(DataField.INT48, 0x06, 2**40), "06 06 00 00 00 00 00 01"),
        (DataRecord(DataField.INT64, 0x06, -1), "07 06 FF FF FF FF FF FF FF FF"),
        (DataRecord(DataField.REAL32, 0x2B, 1.5), "05 2B 00 00 C0 3F"),
        # FD 17: error flags (VIF extension table FDh)
        (DataRecord(DataField.INT8, 0x7D, 0x10, vife=(0x17,)), "01 FD 17 10"),
        # date G 2012-03-04 storage 1, time point F 2011-12-31 23:59
        (DataRecord(DataField.INT16, 0x6C, dt.date(2012, 3, 4), storage=1), "42 6C 84 13"),
        (DataRecord(DataField.INT32, 0x6D, dt.datetime(2011, 12, 31, 23, 59)),
         "04 6D 3B 17 7F 1C"),
        (DataRecord(DataField.INT48, 0x6D, dt.datetime(2011, 12, 31, 23, 59, 58)),
         "06 6D 3A 3B 17 7F 1C 00"),
        # LVAR text goes last character first
        (DataRecord(DataField.LVAR, 0x7D, "AB1", vife=(0x0C,)), "0D FD 0C 03 31 42 41"),
        (DataRecord(DataField.LVAR, 0x7D, b"\x01\x02", vife=(0x11,)), "0D FD 11 E2 01 02"),
        # plain-text unit right after VIF 7Ch, then the data
        (DataRecord(DataField.INT8, 0x7C, 5, plain_text_unit="kg"), "01 7C 02 67 6B 05"),
        (DataRecord(DataField.NONE, 0x13), "00 13"),
        (IdleFiller(), "2F"),
    ],
)
def test_record_encoding_matches_the_standard(record: object, wire: str) -> None:
    assert encode_record(record).hex(" ").upper() == wire  # type: ignore[arg-type]


def test_header_and_frame_match_a_libmbus_vector() -> None:
    wire = hex_file_bytes(VECTORS / "test-frames" / "ACW_Itron-BM-plus-m.hex")
    header = FixedHeader(11490378, "ACW", 14, 0x16, access_no=10)
    assert encode_fixed_header(header) == wire[7:19]
    frame = encode_rsp_ud(
        8, header,
        [DataRecord(DataField.BCD8, 0x78, 11490378), DataRecord(DataField.INT32, 0x13, 54321)],
    )
    link = parse_link_frame(frame)
    assert frame[4:7] == wire[4:7]  # C=08 RSP_UD, A=08, CI=72
    assert link.data[12:] == wire[19:31]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_bcd(100, 2), "does not fit in 2 BCD digits"),
        (lambda: encode_bcd(-10, 2), "negative BCD with 2 digits"),
        (lambda: encode_record(DataRecord(DataField.INT8, 0x13, 256)), "8-bit integer"),
        (lambda: encode_record(DataRecord(DataField.INT8, 0x80, 1)), r"vif = 128"),
        (lambda: encode_record(DataRecord(DataField.INT8, 0x13, "x")), "needs an int"),
        (lambda: encode_record(DataRecord(DataField.INT16, 0x6C, dt.date(1970, 1, 1))),
         "date year = 1970"),
        (lambda: encode_fixed_header(FixedHeader(123456789, "ABC", 1, 7)), "8 BCD digits"),
        (lambda: encode_fixed_header(FixedHeader(1, "AB1", 1, 7)), "three letters"),
        (lambda: encode_rsp_ud(1, FixedHeader(1, "ABC", 1, 7),
                               [DataRecord(DataField.LVAR, 0x13, "x" * 150)] * 2),
         "at most 252 fit"),
    ],
)
def test_encoder_refuses_what_cannot_be_sent(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_master_1f_walk_agrees_with_the_decoder_on_every_vector() -> None:
    checked = 0
    for path in sorted((VECTORS / "test-frames").glob("*.hex")):
        wire = hex_file_bytes(path)
        link = parse_link_frame(wire)
        telegram = decode_frame(wire)
        if link.ci != 0x72:  # type: ignore[union-attr]
            continue
        assert more_records_follow(link) is telegram.more_records_follow, path.name  # type: ignore[arg-type, union-attr]
        checked += 1
    assert checked >= 45


# -- round trip: encoder -> link frame -> decoder ---------------------------------

_SCALED_VIFS = [(vif, vif - 3) for vif in range(0x00, 0x08)] + [
    (vif, vif - 0x16) for vif in range(0x10, 0x18)
]  # energy Wh 10^(n-3), volume m^3 10^(n-6) (EN 13757-3 table 10)
_INT_SIZES = {DataField.INT8: 1, DataField.INT16: 2, DataField.INT24: 3, DataField.INT32: 4,
              DataField.INT48: 6, DataField.INT64: 8}
_BCD_DIGITS = {DataField.BCD2: 2, DataField.BCD4: 4, DataField.BCD6: 6, DataField.BCD8: 8,
               DataField.BCD12: 12}


@st.composite
def _dib(draw: st.DrawFn) -> dict[str, object]:
    return {
        "function": draw(st.sampled_from(list(Function))),
        "storage": draw(st.integers(0, 2**17 - 1)),
        "tariff": draw(st.integers(0, 2**8 - 1)),
        "subunit": draw(st.integers(0, 2**4 - 1)),
        "min_dife": draw(st.integers(0, 2)),
    }


@st.composite
def _numeric_record(draw: st.DrawFn) -> tuple[DataRecord, object]:
    vif, exponent = draw(st.sampled_from(_SCALED_VIFS))
    coding = draw(st.sampled_from([*_INT_SIZES, *_BCD_DIGITS]))
    if coding in _INT_SIZES:
        bits = 8 * _INT_SIZES[coding]
        raw = draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    else:
        digits = _BCD_DIGITS[coding]
        raw = draw(st.integers(-(10 ** (digits - 1)) + 1, 10**digits - 1))
    # optional multiplicative correction factor VIFE 70h..77h: 10^(nnn-6) (table 15)
    correction = draw(st.sampled_from([None, *range(0x70, 0x78)]))
    vife = () if correction is None else (correction,)
    if correction is not None:
        exponent += correction - 0x76
    record = DataRecord(coding, vif, raw, vife=vife, **draw(_dib()))  # type: ignore[arg-type]
    return record, Decimal(raw).scaleb(exponent)


@st.composite
def _other_record(draw: st.DrawFn) -> tuple[DataRecord, object]:
    kind = draw(st.sampled_from(["real", "date", "datetime_f", "datetime_i", "text", "plain"]))
    dib = draw(_dib())
    if kind == "real":
        value = draw(st.floats(width=32, allow_nan=False, allow_infinity=False))
        return DataRecord(DataField.REAL32, 0x03, value, **dib), value  # type: ignore[arg-type]
    if kind == "date":
        day = draw(st.dates(dt.date(1981, 1, 1), dt.date(2080, 12, 31)))
        return DataRecord(DataField.INT16, 0x6C, day, **dib), day  # type: ignore[arg-type]
    moment = draw(st.datetimes(dt.datetime(1981, 1, 1), dt.datetime(2080, 12, 31, 23, 59)))
    if kind == "datetime_f":
        moment = moment.replace(second=0, microsecond=0)
        return DataRecord(DataField.INT32, 0x6D, moment, **dib), moment  # type: ignore[arg-type]
    if kind == "datetime_i":
        moment = moment.replace(microsecond=0)
        return DataRecord(DataField.INT48, 0x6D, moment, **dib), moment  # type: ignore[arg-type]
    text = draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20))
    if kind == "text":
        return DataRecord(DataField.LVAR, 0x7D, text, vife=(0x0C,), **dib), text  # type: ignore[arg-type]
    raw = draw(st.integers(-(2**15), 2**15 - 1))
    record = DataRecord(DataField.INT16, 0x7C, raw, plain_text_unit=text or "u", **dib)  # type: ignore[arg-type]
    return record, Decimal(raw)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    header=st.builds(
        FixedHeader,
        id=st.integers(0, 99_999_999),
        manufacturer=st.text(st.characters(min_codepoint=65, max_codepoint=90), min_size=3,
                             max_size=3),
        version=st.integers(0, 255),
        medium=st.integers(0, 255),
        access_no=st.integers(0, 255),
        status=st.integers(0, 255),
        signature=st.integers(0, 0xFFFF),
    ),
    pairs=st.lists(st.one_of(_numeric_record(), _other_record()), max_size=8),
    trailer=st.one_of(
        st.none(),
        st.builds(ManufacturerData, st.binary(max_size=8), st.booleans()),
    ),
    address=st.integers(0, 250),
)
def test_encoded_telegram_decodes_to_the_same_values(
    header: FixedHeader,
    pairs: list[tuple[DataRecord, object]],
    trailer: ManufacturerData | None,
    address: int,
) -> None:
    records = [record for record, _ in pairs]
    try:
        frame = encode_rsp_ud(address, header, records, trailer)
    except ValueError as exc:
        assume("at most 252 fit" not in str(exc))
        raise
    link = parse_link_frame(frame)
    telegram = decode_user_data(link.c, link.a, link.ci, link.data)  # type: ignore[union-attr]
    assert telegram.header.id == header.id  # type: ignore[union-attr]
    assert telegram.header.manufacturer == header.manufacturer  # type: ignore[union-attr]
    assert (telegram.header.version, telegram.header.medium) == (header.version, header.medium)  # type: ignore[union-attr]
    assert telegram.header.access_number == header.access_no  # type: ignore[union-attr]
    assert telegram.header.status == header.status  # type: ignore[union-attr]
    assert telegram.header.signature == header.signature  # type: ignore[union-attr]
    decoded = list(telegram.records)  # type: ignore[union-attr]
    if trailer is not None:
        tail = decoded.pop()
        assert tail.data == trailer.data
    assert telegram.more_records_follow is bool(trailer and trailer.more_records_follow)  # type: ignore[union-attr]
    assert more_records_follow(link) is telegram.more_records_follow  # type: ignore[arg-type, union-attr]
    # the same records behind a short header (CI 7Ah) and no header (CI 78h)
    records_bytes = link.data[12:]  # type: ignore[union-attr]
    for ci, data in ((0x7A, link.data[8:12] + records_bytes), (0x78, records_bytes)):  # type: ignore[union-attr]
        expected = decode_user_data(0x08, address, ci, data).more_records_follow  # type: ignore[union-attr]
        assert more_records_follow(LongFrame(0x08, address, ci, data)) is expected
    assert len(decoded) == len(pairs)
    functions = ["instantaneous", "maximum", "minimum", "error state"]
    for got, (record, expected) in zip(decoded, pairs, strict=True):
        assert got.function == functions[record.function]
        assert (got.storage_number, got.tariff, got.subunit) == (
            record.storage, record.tariff, record.subunit)
        if record.data_field is DataField.REAL32:
            # the decoder gives the shortest decimal naming the same float32
            assert _f32(float(got.value)) == _f32(expected)  # type: ignore[arg-type]
        else:
            assert got.value == expected, (record, got)
        if record.plain_text_unit is not None:
            assert got.text_unit == record.plain_text_unit
