"""Register-word codec tables, pinned to values written out by hand.

Every row gives the words exactly as they travel on the wire (first register
first) and the value they carry. The IEEE-754 rows were written from the bit
layout, not produced by the codec: 230.1 in binary32 is 0x4366199A
(sign 0, exponent 0x86, mantissa 0x66199A), 1.0 is 0x3F800000, -2.0 is
0xC0000000, and 1.1 in binary64 is 0x3FF199999999999A.
"""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest

from firmware_bridge.codecs.modbus_values import (
    BIG_ENDIAN,
    BYTE_SWAPPED,
    LITTLE_ENDIAN,
    WORD_SWAPPED,
    Order,
    decode_value,
    encode_value,
    register_count,
)
from firmware_bridge.errors import FrameError

ABCD, CDAB, BADC, DCBA = BIG_ENDIAN, WORD_SWAPPED, BYTE_SWAPPED, LITTLE_ENDIAN

# (data type, order, words on the wire, value)
TABLE = [
    # 16-bit: word order is irrelevant, byte order is not
    ("uint16", ABCD, [0x0000], "0"),
    ("uint16", ABCD, [0xFFFF], "65535"),
    ("uint16", ABCD, [0x1388], "5000"),
    ("uint16", BADC, [0x8813], "5000"),
    ("int16", ABCD, [0xFFFF], "-1"),
    ("int16", ABCD, [0x8000], "-32768"),
    ("int16", ABCD, [0x7FFF], "32767"),
    ("int16", ABCD, [0xFF06], "-250"),
    ("int16", BADC, [0x06FF], "-250"),
    # 32-bit integers, value 0x11223344 = 287454020 in all four layouts
    ("uint32", ABCD, [0x1122, 0x3344], "287454020"),
    ("uint32", CDAB, [0x3344, 0x1122], "287454020"),
    ("uint32", BADC, [0x2211, 0x4433], "287454020"),
    ("uint32", DCBA, [0x4433, 0x2211], "287454020"),
    ("uint32", ABCD, [0xFFFF, 0xFFFF], "4294967295"),
    ("int32", ABCD, [0xFFFF, 0xFFFE], "-2"),
    ("int32", CDAB, [0xFFFE, 0xFFFF], "-2"),
    ("int32", ABCD, [0x8000, 0x0000], "-2147483648"),
    ("int32", CDAB, [0x0000, 0x8000], "-2147483648"),
    ("int32", CDAB, [0x08FD, 0x0000], "2301"),
    ("int32", BADC, [0xFFFF, 0xFEFF], "-2"),
    ("int32", DCBA, [0xFEFF, 0xFFFF], "-2"),
    # 64-bit integers, 0x0102030405060708 = 72623859790382856
    ("uint64", ABCD, [0x0102, 0x0304, 0x0506, 0x0708], "72623859790382856"),
    ("uint64", CDAB, [0x0708, 0x0506, 0x0304, 0x0102], "72623859790382856"),
    ("uint64", BADC, [0x0201, 0x0403, 0x0605, 0x0807], "72623859790382856"),
    ("uint64", DCBA, [0x0807, 0x0605, 0x0403, 0x0201], "72623859790382856"),
    ("uint64", ABCD, [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], "18446744073709551615"),
    ("int64", ABCD, [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF], "-1"),
    ("int64", ABCD, [0x8000, 0x0000, 0x0000, 0x0000], "-9223372036854775808"),
    ("int64", CDAB, [0x0000, 0x0000, 0x0000, 0x8000], "-9223372036854775808"),
    # float32, 230.1 = 0x4366199A; shortest decimal, not 230.10000610351562
    ("float32", ABCD, [0x4366, 0x199A], "230.1"),
    ("float32", CDAB, [0x199A, 0x4366], "230.1"),
    ("float32", BADC, [0x6643, 0x9A19], "230.1"),
    ("float32", DCBA, [0x9A19, 0x6643], "230.1"),
    ("float32", ABCD, [0x3F80, 0x0000], "1"),
    ("float32", ABCD, [0xC000, 0x0000], "-2"),
    ("float32", ABCD, [0x0000, 0x0000], "0"),
    ("float32", ABCD, [0x3DCC, 0xCCCD], "0.1"),
    ("float32", ABCD, [0x4B80, 0x0000], "16777216"),
    ("float32", ABCD, [0x0000, 0x0001], "1E-45"),  # smallest subnormal, shortest repr
    # float64, 1.1 = 0x3FF199999999999A
    ("float64", ABCD, [0x3FF1, 0x9999, 0x9999, 0x999A], "1.1"),
    ("float64", CDAB, [0x999A, 0x9999, 0x9999, 0x3FF1], "1.1"),
    ("float64", BADC, [0xF13F, 0x9999, 0x9999, 0x9A99], "1.1"),
    ("float64", DCBA, [0x9A99, 0x9999, 0x9999, 0xF13F], "1.1"),
    ("float64", ABCD, [0xC059, 0x0000, 0x0000, 0x0000], "-100"),
    # BCD: digits are the hex nibbles
    ("bcd16", ABCD, [0x1234], "1234"),
    ("bcd16", ABCD, [0x0009], "9"),
    ("bcd16", BADC, [0x3412], "1234"),
    ("bcd32", ABCD, [0x1234, 0x5678], "12345678"),
    ("bcd32", CDAB, [0x5678, 0x1234], "12345678"),
    ("bcd32", ABCD, [0x9999, 0x9999], "99999999"),
]


@pytest.mark.parametrize(("data_type", "order", "words", "value"), TABLE)
def test_decode_gives_the_hand_written_value(data_type, order, words, value):
    decoded = decode_value(data_type, order, words)
    assert isinstance(decoded, Decimal)
    assert decoded == Decimal(value)


@pytest.mark.parametrize(("data_type", "order", "words", "value"), TABLE)
def test_encode_gives_the_hand_written_words(data_type, order, words, value):
    assert encode_value(data_type, order, Decimal(value)) == words


def test_every_data_type_and_layout_has_a_row():
    covered = {(t, o) for t, o, _, _ in TABLE}
    for data_type in ("int32", "uint32", "uint64", "int64", "float32", "float64"):
        for order in (ABCD, CDAB):
            assert (data_type, order) in covered, (data_type, order.name)


def test_float32_rows_agree_with_struct():
    # A second, independent oracle for the float rows: Python's own IEEE-754 packing.
    for data_type, order, words, value in TABLE:
        if data_type != "float32" or order != ABCD:
            continue
        raw = struct.pack(">HH", *words)
        assert struct.unpack(">f", raw)[0] == pytest.approx(float(value), rel=1e-7, abs=1e-45)


def test_float32_decodes_to_shortest_decimal_not_binary_expansion():
    # struct gives 230.10000610351562 for these words; the meter meant 230.1.
    assert struct.unpack(">f", bytes.fromhex("4366199A"))[0] != 230.1
    assert decode_value("float32", "ABCD", [0x4366, 0x199A]) == Decimal("230.1")
    assert str(decode_value("float32", "ABCD", [0x4366, 0x199A])) == "230.1"


def test_letter_names_parse_to_orders():
    assert Order.parse("abcd") == Order("big", "big")
    assert Order.parse("CDAB") == Order("little", "big")
    assert Order.parse("BADC") == Order("big", "little")
    assert Order.parse("DCBA") == Order("little", "little")
    assert WORD_SWAPPED.name == "CDAB"
    with pytest.raises(ValueError, match="ABCD"):
        Order.parse("ACBD")


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([0x7FC0, 0x0000], "nan"),
        ([0x7F80, 0x0000], "inf"),
        ([0xFF80, 0x0000], "-inf"),
    ],
)
def test_float32_nan_and_infinity_are_refused(words, message):
    with pytest.raises(FrameError, match=message) as info:
        decode_value("float32", ABCD, words)
    assert info.value.field == "float32"


def test_float64_nan_is_refused():
    with pytest.raises(FrameError, match="nan"):
        decode_value("float64", ABCD, [0x7FF8, 0, 0, 0])


def test_bcd_nibble_above_nine_is_refused():
    with pytest.raises(FrameError, match="0x12a4: nibble above 9"):
        decode_value("bcd16", ABCD, [0x12A4])


@pytest.mark.parametrize(
    ("data_type", "words", "message"),
    [
        ("float32", [0x4366], "float32 needs 2 registers, got 1"),
        ("uint64", [0, 0, 0], "uint64 needs 4 registers, got 3"),
        ("uint16", [0x10000], "register 0 = 65536: not a 16-bit word"),
        ("int16", [-1], "register 0 = -1: not a 16-bit word"),
    ],
)
def test_wrong_words_are_refused(data_type, words, message):
    with pytest.raises(FrameError, match=message):
        decode_value(data_type, ABCD, words)


@pytest.mark.parametrize(
    ("data_type", "value", "message"),
    [
        ("int16", 32768, "out of range"),
        ("uint16", -1, "out of range"),
        ("uint32", Decimal("1.5"), "not a whole number"),
        ("bcd16", 10000, "needs 0..9999"),
        ("bcd32", -1, "needs 0..99999999"),
        ("float32", Decimal("1e39"), "out of range"),
        ("float64", "NaN", "not finite"),
        ("int8", 1, "data type 'int8'"),
    ],
)
def test_encode_refuses_values_the_type_cannot_hold(data_type, value, message):
    with pytest.raises(ValueError, match=message):
        encode_value(data_type, ABCD, value)


def test_register_counts():
    assert [register_count(t) for t in ("int16", "uint16", "bcd16")] == [1, 1, 1]
    assert [register_count(t) for t in ("int32", "uint32", "float32", "bcd32")] == [2, 2, 2, 2]
    assert [register_count(t) for t in ("int64", "uint64", "float64")] == [4, 4, 4]
