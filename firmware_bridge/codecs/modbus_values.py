"""Modbus register words <-> exact values (pure: no sockets, no clocks).

A Modbus register is one 16-bit word sent high byte first (Modbus Application
Protocol V1.1b, 4.2: "big-Endian representation is used for addresses and
data items"). The standard says nothing about values wider than one register,
so every manufacturer picks its own layout for 32- and 64-bit values. Two
independent choices cover every meter we know::

    value 0x11223344 (bytes A=11 B=22 C=33 D=44), two registers:

    word_order  byte_order   register[0]  register[1]   common name
    big         big          0x1122       0x3344        ABCD (Eastron, Janitza, ABB)
    little      big          0x3344       0x1122        CDAB (Carlo Gavazzi "LSW first")
    big         little       0x2211       0x4433        BADC
    little      little       0x4433       0x2211        DCBA

``word_order`` says whether the most significant register comes first;
``byte_order`` whether each register carries its high byte first (the
standard) or is byte-swapped. 64-bit values follow the same rule over four
registers (``little`` word order = least significant register first).

Values come back as :class:`~decimal.Decimal`, never float, because they end
up on bills. IEEE-754 values are converted through their *shortest*
round-trip decimal representation (``numpy.float32`` for binary32, ``repr``
for binary64): the float32 that a meter stores for 230.1 V is
230.1000061035..., and 230.1 is the decimal its firmware meant. BCD registers
(one decimal digit per nibble, most significant nibble first) are refused if
a nibble is above 9, and a float register holding NaN or infinity is refused:
neither is a reading.

:func:`encode_value` is the exact inverse, used by the simulators to fill a
datastore with the words a real device would send.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

import numpy as np

from firmware_bridge.errors import FrameError

PROTOCOL = "Modbus register"

WordOrder = Literal["big", "little"]
ByteOrder = Literal["big", "little"]

# data type -> number of 16-bit registers it occupies
REGISTER_COUNT: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "bcd16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "bcd32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
}

DATA_TYPES: tuple[str, ...] = tuple(REGISTER_COUNT)

_INT_RANGES: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


@dataclass(frozen=True)
class Order:
    """How a multi-register value is laid out (see the module docstring)."""

    word: WordOrder = "big"
    byte: ByteOrder = "big"

    def __post_init__(self) -> None:
        if self.word not in ("big", "little"):
            raise ValueError(f"word order {self.word!r}: must be 'big' or 'little'")
        if self.byte not in ("big", "little"):
            raise ValueError(f"byte order {self.byte!r}: must be 'big' or 'little'")

    @classmethod
    def parse(cls, spec: Order | str) -> Order:
        """Accept an :class:`Order` or the usual letter names ABCD/CDAB/BADC/DCBA."""
        if isinstance(spec, Order):
            return spec
        try:
            return _NAMED_ORDERS[spec.upper()]
        except (KeyError, AttributeError):
            raise ValueError(
                f"order {spec!r}: expected one of {', '.join(_NAMED_ORDERS)}"
            ) from None

    @property
    def name(self) -> str:
        """The four-letter name of this layout for a 32-bit value."""
        for name, order in _NAMED_ORDERS.items():
            if order == self:
                return name
        raise AssertionError("unreachable: every Order has a name")


BIG_ENDIAN = Order("big", "big")
WORD_SWAPPED = Order("little", "big")
BYTE_SWAPPED = Order("big", "little")
LITTLE_ENDIAN = Order("little", "little")

_NAMED_ORDERS: dict[str, Order] = {
    "ABCD": BIG_ENDIAN,
    "CDAB": WORD_SWAPPED,
    "BADC": BYTE_SWAPPED,
    "DCBA": LITTLE_ENDIAN,
}


def register_count(data_type: str) -> int:
    """Registers occupied by ``data_type``; ValueError names unknown types."""
    try:
        return REGISTER_COUNT[data_type]
    except KeyError:
        raise ValueError(
            f"data type {data_type!r}: expected one of {', '.join(DATA_TYPES)}"
        ) from None


def words_to_bytes(words: list[int] | tuple[int, ...], order: Order) -> bytes:
    """Reassemble the value's bytes, most significant first."""
    ordered = list(words) if order.word == "big" else list(reversed(words))
    out = bytearray()
    for word in ordered:
        hi, lo = word >> 8, word & 0xFF
        out += bytes((hi, lo)) if order.byte == "big" else bytes((lo, hi))
    return bytes(out)


def bytes_to_words(data: bytes, order: Order) -> list[int]:
    """Split a most-significant-first byte string into registers laid out per ``order``."""
    words = []
    for i in range(0, len(data), 2):
        hi, lo = data[i], data[i + 1]
        words.append((hi << 8) | lo if order.byte == "big" else (lo << 8) | hi)
    return words if order.word == "big" else list(reversed(words))


_STRUCT_CODES: dict[str, str] = {
    "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
    "int64": "q", "uint64": "Q", "float32": "f", "float64": "d",
}


def float32_to_decimal(value: float) -> Decimal:
    """The shortest decimal that round-trips to this binary32 value."""
    return Decimal(str(np.float32(value)))


def _bad_words(data_type: str, need: int, words: Sequence[int]) -> FrameError:
    if len(words) != need:
        return FrameError(
            PROTOCOL, f"{data_type} needs {need} registers, got {len(words)}", field=data_type
        )
    i, word = next((i, w) for i, w in enumerate(words)
                   if not isinstance(w, int) or not 0 <= w <= 0xFFFF)
    return FrameError(PROTOCOL, f"register {i} = {word!r}: not a 16-bit word", field=data_type)


@functools.cache
def decoder(data_type: str, order: Order) -> Callable[[Sequence[int]], Decimal]:
    """A compiled decoder for one (type, layout): words -> unscaled Decimal.

    Built once per layout, because the gateway decodes thousands of registers
    a second; :func:`decode_value` is the same function looked up each call.
    """
    need = register_count(data_type)
    pack = struct.Struct(("<" if order.byte == "little" else ">") + "H" * need).pack
    reverse = order.word == "little"
    code = _STRUCT_CODES.get(data_type)
    unpack = struct.Struct(">" + code).unpack if code else None

    def to_bytes(words: Sequence[int]) -> bytes:
        if len(words) != need:
            raise _bad_words(data_type, need, words)
        try:
            return pack(*(reversed(words) if reverse else words))
        except (struct.error, TypeError):
            raise _bad_words(data_type, need, words) from None

    if data_type == "float32":
        def decode(words: Sequence[int]) -> Decimal:
            raw = to_bytes(words)
            (value,) = unpack(raw)
            if not math.isfinite(value):
                raise FrameError(PROTOCOL, f"float32 is {value} (0x{raw.hex()})", field=data_type)
            return Decimal(str(np.float32(value)))
    elif data_type == "float64":
        def decode(words: Sequence[int]) -> Decimal:
            raw = to_bytes(words)
            (value,) = unpack(raw)
            if not math.isfinite(value):
                raise FrameError(PROTOCOL, f"float64 is {value} (0x{raw.hex()})", field=data_type)
            return Decimal(repr(value))
    elif unpack is not None:
        def decode(words: Sequence[int]) -> Decimal:
            return Decimal(unpack(to_bytes(words))[0])
    else:  # bcd16 / bcd32: one decimal digit per nibble, most significant first
        def decode(words: Sequence[int]) -> Decimal:
            digits = to_bytes(words).hex()
            if not digits.isdigit():
                raise FrameError(PROTOCOL, f"{data_type} 0x{digits}: nibble above 9 is not BCD",
                                 field=data_type)
            return Decimal(int(digits))
    return decode


def decode_value(data_type: str, order: Order | str, words: Sequence[int]) -> Decimal:
    """Decode raw register ``words`` (as received, first register first) to an exact Decimal.

    The result is the unscaled value; a profile multiplies it by its scale.
    """
    return decoder(data_type, Order.parse(order))(words)


def _as_decimal(value: Decimal | int | float | str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValueError(f"value {value!r}: not a number") from None


def encode_value(
    data_type: str, order: Order | str, value: Decimal | int | float | str
) -> list[int]:
    """Encode an unscaled ``value`` into the register words a device would send.

    Integers must be whole and in range; BCD must be a non-negative whole
    number with at most 4 (bcd16) or 8 (bcd32) digits; floats are rounded to
    the nearest binary32/binary64 as the device firmware would.
    """
    order = Order.parse(order)
    need = register_count(data_type)
    number = _as_decimal(value)
    if not number.is_finite():
        raise ValueError(f"{data_type} value {value!r}: not finite")
    if data_type in _INT_RANGES or data_type.startswith("bcd"):
        if number != number.to_integral_value():
            raise ValueError(f"{data_type} value {value!r}: not a whole number")
        integer = int(number)
        if data_type.startswith("bcd"):
            digits = 4 * need
            if not 0 <= integer < 10**digits:
                raise ValueError(f"{data_type} value {value!r}: needs 0..{10**digits - 1}")
            raw = bytes.fromhex(f"{integer:0{digits}d}")
        else:
            low, high = _INT_RANGES[data_type]
            if not low <= integer <= high:
                raise ValueError(f"{data_type} value {value!r}: out of range {low}..{high}")
            raw = integer.to_bytes(2 * need, "big", signed=data_type.startswith("int"))
    elif data_type == "float32":
        try:  # rounds to nearest; only values that would round to infinity fail
            raw = struct.pack(">f", float(number))
        except OverflowError:
            raise ValueError(f"float32 value {value!r}: out of range") from None
    else:  # float64
        raw = struct.pack(">d", float(number))
    return bytes_to_words(raw, order)
