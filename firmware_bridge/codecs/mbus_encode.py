"""EN 13757-3 application-layer encoder: variable data structure (CI 72h).

The decoder reads what meters send; this module writes it, so the simulator
can answer with telegrams we built ourselves and the decoder can be checked
by round trip (encode -> decode -> same values).

Layout of the user data of a variable data response (EN 13757-3 clause 6)::

    CI=72h | fixed header (12 bytes) | data record | data record | ... | [1Fh|0Fh mfr data]

    fixed header (6.3), all multi-byte fields least significant byte first:
        ID          4 bytes  8 BCD digits (identification number)
        Manufacturer 2 bytes  3 letters, each (letter - 64) in 5 bits:
                             (c1 << 10) | (c2 << 5) | c3
        Version     1 byte   generation
        Medium      1 byte   device type (Table 3)
        Access no.  1 byte   counts up per telegram
        Status      1 byte   application errors, power low, ...
        Signature   2 bytes  0000h when unencrypted

    data record (6.4): DIB (DIF + 0..10 DIFE) | VIB (VIF + 0..10 VIFE) | data
        DIF  bit 7 extension, bit 6 storage number LSB, bits 5-4 function
             (00 instantaneous, 01 maximum, 10 minimum, 11 value during error),
             bits 3-0 data field (coding and length, Table 4)
        DIFE bit 7 extension, bit 6 subunit bit, bits 5-4 tariff bits,
             bits 3-0 storage number bits; DIFE n carries the next-higher bits
        VIF  bit 7 extension, bits 6-0 the value information code
        VIFE bit 7 extension, bits 6-0 the extension code

Data field codings (Table 4) and what :class:`DataRecord` accepts as value::

    0h none            value None
    1h/2h/3h/4h/6h/7h  8/16/24/32/48/64-bit integer (type B, two's complement): int
    5h 32-bit real     (type H, IEEE 754 single): float
    9h/Ah/Bh/Ch/Eh     2/4/6/8/12-digit BCD (type A): int; negative values put
                       Fh in the most significant nibble (Annex A, "negative
                       BCD"), so one digit fewer is left for the magnitude
    2h with VIF 6Ch    date type G: datetime.date
    4h with VIF 6Dh    date and time type F: datetime.datetime (minutes)
    6h with VIF 6Dh    date and time type I: datetime.datetime (seconds)
    Dh variable length (LVAR, Table 5): str (ASCII, LVAR = 00h..BFh, sent
                       last character first, as libmbus and meters do) or
                       bytes (binary number, LVAR = E0h + n)

The special functions (DIF 0Fh / 1Fh / 2Fh, 6.4.2): 0Fh starts manufacturer
specific data up to the end of the telegram, 1Fh does the same and says that
more records follow in the next telegram (the master toggles FCB and asks
again), 2Fh is an idle filler byte.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from firmware_bridge.codecs.mbus_link import RSP_UD, encode_long_frame

CI_VARIABLE_RESPONSE = 0x72
DIF_MANUFACTURER_SPECIFIC = 0x0F
DIF_MORE_RECORDS_FOLLOW = 0x1F
DIF_IDLE_FILLER = 0x2F
VIF_DATE_G = 0x6C
VIF_DATE_TIME_F = 0x6D
VIF_PLAIN_TEXT = 0x7C
MAX_DIFE = 10
MAX_VIFE = 10
MAX_ID = 99_999_999


class DataField(IntEnum):
    """DIF bits 3-0: data field coding and length (EN 13757-3 Table 4)."""

    NONE = 0x0
    INT8 = 0x1
    INT16 = 0x2
    INT24 = 0x3
    INT32 = 0x4
    REAL32 = 0x5
    INT48 = 0x6
    INT64 = 0x7
    BCD2 = 0x9
    BCD4 = 0xA
    BCD6 = 0xB
    BCD8 = 0xC
    LVAR = 0xD
    BCD12 = 0xE


class Function(IntEnum):
    """DIF bits 5-4: function field (EN 13757-3 6.4.1)."""

    INSTANTANEOUS = 0
    MAXIMUM = 1
    MINIMUM = 2
    ERROR_STATE = 3


_INT_BYTES = {
    DataField.INT8: 1,
    DataField.INT16: 2,
    DataField.INT24: 3,
    DataField.INT32: 4,
    DataField.INT48: 6,
    DataField.INT64: 8,
}
_BCD_DIGITS = {
    DataField.BCD2: 2,
    DataField.BCD4: 4,
    DataField.BCD6: 6,
    DataField.BCD8: 8,
    DataField.BCD12: 12,
}


@dataclass(frozen=True, slots=True)
class FixedHeader:
    """The 12-byte header of a variable data response (EN 13757-3 6.3)."""

    id: int
    manufacturer: str
    version: int
    medium: int
    access_no: int = 0
    status: int = 0
    signature: int = 0


@dataclass(frozen=True, slots=True)
class DataRecord:
    """One data record to encode.

    ``vif`` and each ``vife`` are the 7-bit codes without the extension bit;
    the encoder sets bit 7 on every byte that another one follows, so
    ``vif=0x7D, vife=(0x17,)`` is written ``FD 17`` (error flags, Table 14).
    With ``vif=0x7C`` (plain-text VIF, 6.4.3) ``plain_text_unit`` is sent as
    a length byte and the ASCII unit reversed, right after the VIF.
    ``value`` is the raw coded value, before the VIF's decimal exponent.
    ``min_dife`` forces that many DIFEs even when storage, tariff and subunit
    fit without them (meters often send ``DIFE=00``).
    """

    data_field: DataField
    vif: int
    value: object = None
    vife: tuple[int, ...] = ()
    function: Function = Function.INSTANTANEOUS
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    min_dife: int = 0
    plain_text_unit: str | None = None


@dataclass(frozen=True, slots=True)
class ManufacturerData:
    """Trailing manufacturer data: DIF 0Fh, or 1Fh when more records follow."""

    data: bytes = b""
    more_records_follow: bool = False


@dataclass(frozen=True, slots=True)
class IdleFiller:
    """DIF 2Fh: a filler byte with no data (EN 13757-3 6.4.2)."""


Record = DataRecord | IdleFiller


def encode_bcd(value: int, digits: int, *, where: str = "value") -> bytes:
    """BCD type A, least significant byte first; negative puts Fh on top.

    EN 13757-3 Annex A: "a negative BCD number has Fh in the most significant
    nibble"; the magnitude then has ``digits - 1`` digits.
    """
    if digits % 2:
        raise ValueError(f"{where}: BCD needs an even digit count, got {digits}")
    if value < 0:
        magnitude = -value
        if magnitude >= 10 ** (digits - 1):
            raise ValueError(
                f"{where} = {value}: negative BCD with {digits} digits holds at most "
                f"{digits - 1} digits of magnitude"
            )
        text = "F" + f"{magnitude:0{digits - 1}d}"
    else:
        if value >= 10**digits:
            raise ValueError(f"{where} = {value}: does not fit in {digits} BCD digits")
        text = f"{value:0{digits}d}"
    return bytes.fromhex(text)[::-1]


def encode_id_bcd(ident: int) -> bytes:
    """Identification number: 8 BCD digits, least significant byte first (6.3.1)."""
    if not 0 <= ident <= MAX_ID:
        raise ValueError(f"id = {ident}: must be 0..{MAX_ID} (8 BCD digits)")
    return encode_bcd(ident, 8, where="id")


def encode_manufacturer(code: str) -> int:
    """Three letters A..Z to the 16-bit manufacturer field (EN 13757-3 6.3.2).

    Each letter is ``ord(c) - 64`` (A=1) in five bits; the top bit stays 0.
    """
    if len(code) != 3 or not all("A" <= ch <= "Z" for ch in code.upper()):
        raise ValueError(f"manufacturer = {code!r}: must be three letters A..Z")
    c1, c2, c3 = (ord(ch) - 64 for ch in code.upper())
    return (c1 << 10) | (c2 << 5) | c3


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} = {value!r}: must be {low}..{high}")


def encode_fixed_header(header: FixedHeader) -> bytes:
    """The 12 header bytes after CI 72h (EN 13757-3 6.3)."""
    _check_range("version", header.version, 0, 0xFF)
    _check_range("medium", header.medium, 0, 0xFF)
    _check_range("access_no", header.access_no, 0, 0xFF)
    _check_range("status", header.status, 0, 0xFF)
    _check_range("signature", header.signature, 0, 0xFFFF)
    return (
        encode_id_bcd(header.id)
        + encode_manufacturer(header.manufacturer).to_bytes(2, "little")
        + bytes((header.version, header.medium, header.access_no, header.status))
        + header.signature.to_bytes(2, "little")
    )


def _encode_dib(record: DataRecord, where: str) -> bytes:
    """DIF and as many DIFEs as storage, tariff and subunit need (6.4.1).

    The DIF holds storage bit 0; each DIFE adds 4 storage, 2 tariff and 1
    subunit bit, lowest first, so a value needing more bits needs more DIFEs.
    """
    _check_range(f"{where}.storage", record.storage, 0, (1 << (1 + 4 * MAX_DIFE)) - 1)
    _check_range(f"{where}.tariff", record.tariff, 0, (1 << (2 * MAX_DIFE)) - 1)
    _check_range(f"{where}.subunit", record.subunit, 0, (1 << MAX_DIFE) - 1)
    _check_range(f"{where}.min_dife", record.min_dife, 0, MAX_DIFE)
    storage_rest = record.storage >> 1
    count = record.min_dife
    while (
        storage_rest >> (4 * count) or record.tariff >> (2 * count) or record.subunit >> count
    ):
        count += 1
    dif = (record.storage & 1) << 6 | int(record.function) << 4 | int(record.data_field)
    if count:
        dif |= 0x80
    out = bytearray((dif,))
    for n in range(count):
        dife = (
            (storage_rest >> (4 * n)) & 0x0F
            | ((record.tariff >> (2 * n)) & 0x03) << 4
            | ((record.subunit >> n) & 0x01) << 6
        )
        if n + 1 < count:
            dife |= 0x80
        out.append(dife)
    return bytes(out)


def _encode_vib(record: DataRecord, where: str) -> bytes:
    """VIF and VIFE chain with extension bits set (6.4.3), plus plain text unit."""
    codes = (record.vif, *record.vife)
    if len(record.vife) > MAX_VIFE:
        raise ValueError(f"{where}.vife: {len(record.vife)} VIFE, at most {MAX_VIFE} allowed")
    for n, code in enumerate(codes):
        _check_range(f"{where}.{'vif' if n == 0 else f'vife[{n - 1}]'}", code, 0, 0x7F)
    out = [bytes((code | (0x80 if n + 1 < len(codes) else 0),)) for n, code in enumerate(codes)]
    if record.vif == VIF_PLAIN_TEXT:
        # The length byte and the text follow the VIF itself, before any VIFE,
        # as libmbus reads them (mbus_data_variable_parse).
        raw = (record.plain_text_unit or "").encode("ascii")
        if len(raw) > 0xBF:
            raise ValueError(f"{where}.plain_text_unit: {len(raw)} chars, at most 191")
        out.insert(1, bytes((len(raw),)) + raw[::-1])
    elif record.plain_text_unit is not None:
        raise ValueError(f"{where}.plain_text_unit: only allowed with VIF 7Ch")
    return b"".join(out)


def _two_digit_year(year: int) -> int:
    """Year as the 7-bit field of types F, G and I (EN 13757-3 Annex A).

    The field holds 0..99; readers (libmbus and ours) take 0..80 as 20xx and
    81..99 as 19xx, so 1981..2080 survive a round trip.
    """
    _check_range("date year", year, 1981, 2080)
    return year % 100


def encode_date_g(value: dt.date) -> bytes:
    """Date type G, 16 bits (EN 13757-3 Annex A).

    day bits 0-4, month bits 8-11, year bits 5-7 (low 3 bits of the two-digit
    year) and 12-15 (high 4 bits).
    """
    year = _two_digit_year(value.year)
    word = value.day | ((year & 0x07) << 5) | (value.month << 8) | ((year >> 3) << 12)
    return word.to_bytes(2, "little")


def encode_date_time_f(value: dt.datetime, *, summer_time: bool = False) -> bytes:
    """Date and time type F, 32 bits (EN 13757-3 Annex A).

    minute bits 0-5 (bit 7 IV invalid), hour bits 8-12 (bit 15 SU summer
    time), day bits 16-20, year low 3 bits in 21-23, month 24-27, year high
    4 bits in 28-31. Seconds are not representable and must be zero.
    """
    if value.second or value.microsecond:
        raise ValueError(f"date-time F = {value.isoformat()}: has no seconds field")
    year = _two_digit_year(value.year)
    word = (
        value.minute
        | value.hour << 8
        | (0x8000 if summer_time else 0)
        | value.day << 16
        | (year & 0x07) << 21
        | value.month << 24
        | (year >> 3) << 28
    )
    return word.to_bytes(4, "little")


def encode_date_time_i(value: dt.datetime) -> bytes:
    """Date and time type I, 48 bits: seconds byte then type F layout (Annex A).

    Byte 0: seconds bits 0-5; bytes 1..4: minute, hour, day/year-low,
    month/year-high as type F; byte 5: day of week and week (left 0 = not
    specified).
    """
    year = _two_digit_year(value.year)
    return bytes(
        (
            value.second,
            value.minute,
            value.hour,
            value.day | (year & 0x07) << 5,
            value.month | (year >> 3) << 4,
            0,
        )
    )


def _encode_data(record: DataRecord, where: str) -> bytes:
    coding = record.data_field
    value = record.value
    if coding == DataField.NONE:
        if value is not None:
            raise ValueError(f"{where}.value: data field 0h (no data) takes no value")
        return b""
    if coding == DataField.REAL32:
        if not isinstance(value, int | float):
            raise ValueError(f"{where}.value = {value!r}: real32 needs a number")
        return struct.pack("<f", float(value))
    if coding == DataField.LVAR:
        if isinstance(value, str):
            raw = value.encode("ascii")
            if len(raw) > 0xBF:
                raise ValueError(f"{where}.value: {len(raw)} chars, LVAR text holds 191")
            return bytes((len(raw),)) + raw[::-1]
        if isinstance(value, bytes | bytearray):
            if len(value) > 0x0F:
                raise ValueError(f"{where}.value: binary LVAR holds at most 15 bytes")
            return bytes((0xE0 + len(value),)) + bytes(value)
        raise ValueError(f"{where}.value = {value!r}: LVAR needs str or bytes")
    if record.vif == VIF_DATE_G and not record.vife and coding == DataField.INT16:
        if not isinstance(value, dt.date):
            raise ValueError(f"{where}.value = {value!r}: VIF 6Ch (type G) needs a date")
        return encode_date_g(value)
    if record.vif == VIF_DATE_TIME_F and not record.vife:
        if coding == DataField.INT32:
            if not isinstance(value, dt.datetime):
                raise ValueError(f"{where}.value = {value!r}: type F needs a datetime")
            return encode_date_time_f(value)
        if coding == DataField.INT48:
            if not isinstance(value, dt.datetime):
                raise ValueError(f"{where}.value = {value!r}: type I needs a datetime")
            return encode_date_time_i(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}.value = {value!r}: data field {coding.name} needs an int")
    if coding in _BCD_DIGITS:
        return encode_bcd(value, _BCD_DIGITS[coding], where=f"{where}.value")
    size = _INT_BYTES[coding]
    low, high = -(1 << (8 * size - 1)), (1 << (8 * size - 1)) - 1
    # Unsigned readings above the signed range are sent as their bit pattern,
    # as counters do; the decoder reads type B signed, like libmbus.
    if not low <= value <= (1 << (8 * size)) - 1:
        raise ValueError(f"{where}.value = {value}: does not fit {size * 8}-bit integer")
    if value > high:
        value -= 1 << (8 * size)
    return value.to_bytes(size, "little", signed=True)


def encode_record(record: Record, *, where: str = "record") -> bytes:
    """One data record: DIB, VIB and data (EN 13757-3 6.4)."""
    if isinstance(record, IdleFiller):
        return bytes((DIF_IDLE_FILLER,))
    return _encode_dib(record, where) + _encode_vib(record, where) + _encode_data(record, where)


def encode_variable_user_data(
    header: FixedHeader,
    records: Iterable[Record],
    manufacturer_data: ManufacturerData | None = None,
) -> bytes:
    """User data after CI 72h: header, records, optional 0Fh/1Fh trailer."""
    out = bytearray(encode_fixed_header(header))
    for n, record in enumerate(records):
        out += encode_record(record, where=f"records[{n}]")
    if manufacturer_data is not None:
        out.append(
            DIF_MORE_RECORDS_FOLLOW
            if manufacturer_data.more_records_follow
            else DIF_MANUFACTURER_SPECIFIC
        )
        out += manufacturer_data.data
    return bytes(out)


def encode_rsp_ud(
    address: int,
    header: FixedHeader,
    records: Sequence[Record],
    manufacturer_data: ManufacturerData | None = None,
    *,
    acd: bool = False,
    dfc: bool = False,
) -> bytes:
    """A complete RSP_UD long frame (C=08h, CI=72h) from a slave at ``address``.

    ``acd`` (access demand, bit 5) and ``dfc`` (data flow control, bit 4) are
    the slave-to-master meanings of the FCB/FCV bits (EN 13757-2 5.5).
    """
    c = RSP_UD | (0x20 if acd else 0) | (0x10 if dfc else 0)
    data = encode_variable_user_data(header, records, manufacturer_data)
    return encode_long_frame(c, address, CI_VARIABLE_RESPONSE, data)


@dataclass(frozen=True, slots=True)
class VariableDataTelegram:
    """A variable data response ready to encode: what a simulated slave sends."""

    header: FixedHeader
    records: tuple[Record, ...] = field(default_factory=tuple)
    manufacturer_data: ManufacturerData | None = None

    def user_data(self) -> bytes:
        """Bytes after the CI field."""
        return encode_variable_user_data(self.header, self.records, self.manufacturer_data)


__all__ = [
    "CI_VARIABLE_RESPONSE",
    "DataField",
    "DataRecord",
    "FixedHeader",
    "Function",
    "IdleFiller",
    "ManufacturerData",
    "Record",
    "VariableDataTelegram",
    "encode_bcd",
    "encode_date_g",
    "encode_date_time_f",
    "encode_date_time_i",
    "encode_fixed_header",
    "encode_id_bcd",
    "encode_manufacturer",
    "encode_record",
    "encode_rsp_ud",
    "encode_variable_user_data",
]
