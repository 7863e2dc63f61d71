"""Property: decode(encode(v)) == v for every data type and register layout.

The hand-written tables in test_modbus_values.py pin the bytes; this checks the
two directions agree over the whole value range, including the edges.
"""

from __future__ import annotations

import os
import struct
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.codecs.modbus_values import (
    BIG_ENDIAN,
    BYTE_SWAPPED,
    LITTLE_ENDIAN,
    WORD_SWAPPED,
    decode_value,
    encode_value,
)

EXAMPLES = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "100"))
ORDERS = st.sampled_from([BIG_ENDIAN, WORD_SWAPPED, BYTE_SWAPPED, LITTLE_ENDIAN])
INTS = {
    "int16": st.integers(-(2**15), 2**15 - 1),
    "uint16": st.integers(0, 2**16 - 1),
    "int32": st.integers(-(2**31), 2**31 - 1),
    "uint32": st.integers(0, 2**32 - 1),
    "int64": st.integers(-(2**63), 2**63 - 1),
    "uint64": st.integers(0, 2**64 - 1),
    "bcd16": st.integers(0, 9999),
    "bcd32": st.integers(0, 99_999_999),
}


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None)
@given(data=st.data(), order=ORDERS)
def test_integer_types_round_trip(data, order):
    for data_type, values in INTS.items():
        value = data.draw(values, label=data_type)
        words = encode_value(data_type, order, value)
        assert all(0 <= w <= 0xFFFF for w in words)
        assert decode_value(data_type, order, words) == value


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None)
@given(value=st.floats(width=32, allow_nan=False, allow_infinity=False), order=ORDERS)
def test_float32_round_trips_to_the_same_bits(value, order):
    words = encode_value("float32", order, value)
    decoded = decode_value("float32", order, words)
    # The decimal is the shortest one naming exactly this binary32 value.
    assert np.float32(float(decoded)) == np.float32(value)
    assert encode_value("float32", order, decoded) == words


@pytest.mark.fuzz
@settings(max_examples=EXAMPLES, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False), order=ORDERS)
def test_float64_round_trips_to_the_same_bits(value, order):
    words = encode_value("float64", order, value)
    decoded = decode_value("float64", order, words)
    assert struct.pack(">d", float(decoded)) == struct.pack(">d", value)
    assert decoded == Decimal(repr(value))
