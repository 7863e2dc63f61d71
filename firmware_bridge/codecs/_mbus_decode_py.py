"""Pure-Python EN 13757-3 decoder: the reference the Cython decoder must match.

User data of a variable data response (CI 72h, LSB first)::

    offset  size  field
    0       4     identification number, 8 BCD digits
    4       2     manufacturer, 3 x 5-bit letters
    6       1     version
    7       1     medium (device type)
    8       1     access number
    9       1     status
    10      2     signature
    12      ...   data records, each:
                  DIF [DIFE x 0..10] VIF [text VIF] [VIFE x 0..10] data

A record's data length comes from the DIF coding (EN 13757-3 table 4);
LVAR (DIF xDh) carries its own length byte. DIF 0Fh / 1Fh ends the records:
the rest is manufacturer data, 1Fh also announces another telegram.
DIF 2Fh is an idle filler byte. CI 76h/77h send every multi-byte field most
significant byte first ("mode 2"); the decoder reverses them.

Everything that cannot be decoded raises
:class:`~firmware_bridge.errors.FrameError` with the byte offset in the
frame and the field that was expected there.
"""

from __future__ import annotations

import struct
from datetime import date, datetime, time
from decimal import Decimal

from firmware_bridge.codecs.mbus_link import (
    ACK,
    START_LONG,
    START_SHORT,
    STOP,
    parse_link_frame,
)
from firmware_bridge.codecs.mbus_records import (
    ApplicationError,
    DataRecord,
    FixedCounter,
    FixedDataResponse,
    SlaveHeader,
    Telegram,
    VariableDataResponse,
)
from firmware_bridge.codecs.mbus_tables import (
    FIXED_MEDIUM,
    FIXED_UNIT_TEXT,
    FIXED_UNITS,
    ORTHOGONAL_VIFE,
    VIF_TABLE,
    application_error_text,
    manufacturer_code,
    medium_name,
)
from firmware_bridge.errors import FrameError

__impl__ = "python"

PROTOCOL = "M-Bus"
USER_DATA_OFFSET = 7  # 68 L L 68 C A CI
MAX_DIFE = 10
MAX_VIFE = 10

_FUNCTIONS = ("instantaneous", "maximum", "minimum", "error state")
# DIF data field coding -> (name, fixed length); LVAR (0x0D) length is in-band.
_CODINGS = (
    ("none", 0), ("int8", 1), ("int16", 2), ("int24", 3), ("int32", 4),
    ("real32", 4), ("int48", 6), ("int64", 8), ("selection", 0), ("bcd2", 1),
    ("bcd4", 2), ("bcd6", 3), ("bcd8", 4), ("lvar", 0), ("bcd12", 6),
    ("special", 8),
)
_UNSIGNED_QUANTITIES = frozenset(
    ("Error flags", "Error mask", "Digital Input", "Digital Output")
)
# Orthogonal VIFE whose record value is a point in time.
_DATE_VIFE = frozenset((0x39, 0x42, 0x43, 0x46, 0x47, 0x4A, 0x4B, 0x4E, 0x4F,
                        0x6A, 0x6B, 0x6E, 0x6F))
_TEN = Decimal(10)
_ONE = Decimal(1)
_THOUSAND = Decimal(1000)


def _err(message: str, offset: int, field: str) -> FrameError:
    return FrameError(PROTOCOL, message, offset=offset, field=field)


# ---------------------------------------------------------------- VIB meaning

# (unit, quantity, scale, meanings, kind, text) per VIB; kind is "" (number),
# "date" (value is a time point) or "mfr" (VIFE 7Fh: the data is the
# manufacturer's, kept as bytes).
_VIB_CACHE: dict[tuple, tuple] = {}
_VIB_CACHE_MAX = 4096


def _vib_meaning(vif: int, vife: tuple[int, ...], text: str | None) -> tuple:
    key = (vif, vife, text)
    hit = _VIB_CACHE.get(key)
    if hit is not None:
        return hit
    if len(_VIB_CACHE) >= _VIB_CACHE_MAX:
        _VIB_CACHE.clear()
    meanings: list[str] = []
    kind = ""
    scale = _ONE
    orthogonal = vife
    if vif == 0xFD or vif == 0xFB:
        code = (vife[0] & 0x7F) | (0x100 if vif == 0xFD else 0x200)
        unit, quantity, scale = VIF_TABLE[code]
        orthogonal = vife[1:]
        if code in (0x130, 0x170):
            kind = "date"
    elif (vif & 0x7F) == 0x7C:
        unit, quantity = "", text or ""
    elif (vif & 0x7F) == 0x7F:
        # VIF 7Fh/FFh: the unit is the manufacturer's, the data still follows
        # the DIF coding (EN 13757-3 6.4.1); its VIFEs are the manufacturer's.
        unit, quantity = "", "Manufacturer specific"
        orthogonal = ()
        if vife:
            meanings.append("manufacturer specific VIFE " + " ".join(f"{b:02X}" for b in vife))
    else:
        entry = VIF_TABLE.get(vif & 0x7F)
        if entry is None:
            unit, quantity = "", f"Unknown VIF 0x{vif:02X}"
        else:
            unit, quantity, scale = entry
        if (vif & 0x7F) in (0x6C, 0x6D):
            kind = "date"
    for n, b in enumerate(orthogonal):
        code = b & 0x7F
        if code == 0x7F:
            # "next VIFEs and data of this block are manufacturer specific"
            kind = "mfr"
            rest = orthogonal[n + 1:]
            meanings.append(ORTHOGONAL_VIFE[code])
            if rest:
                meanings.append("manufacturer specific VIFE " + " ".join(f"{x:02X}" for x in rest))
            break
        meanings.append(ORTHOGONAL_VIFE[code])
        if 0x70 <= code <= 0x77:
            scale = scale * _TEN ** (code - 0x76)
        elif code == 0x7D:
            scale = scale * _THOUSAND
        elif code in _DATE_VIFE:
            kind = "date"
    result = (unit, quantity, scale, tuple(meanings), kind, text)
    _VIB_CACHE[key] = result
    return result


# ------------------------------------------------------------ value decoding


def _bcd(data: bytes) -> tuple[Decimal | None, str | None]:
    """BCD, least significant byte first; a top nibble Fh means negative."""
    if not data:
        return None, "empty BCD field"
    digits = data[::-1].hex()
    negative = False
    if digits[0] == "f":
        negative = True
        digits = digits[1:] or "0"
    if not digits.isdigit():
        return None, f"invalid BCD digits {data[::-1].hex().upper()}"
    value = int(digits)
    return Decimal(-value if negative else value), None


def _real32(data: bytes) -> Decimal | None:
    """IEEE 754 single, converted through its shortest round-trip repr."""
    (value,) = struct.unpack("<f", data)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    for precision in range(6, 10):
        text = f"{value:.{precision}g}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == value:
            return Decimal(text)
    return Decimal(repr(value))  # pragma: no cover - precision 9 always round-trips


def _year(y: int, hundred: int) -> int:
    if hundred:
        return 1900 + 100 * hundred + y
    return 2000 + y if y < 81 else 1900 + y


def _date_g(data: bytes) -> tuple[date | None, str | None]:
    """Type G (EN 13757-3 annex A): compound CP16 date."""
    day = data[0] & 0x1F
    month = data[1] & 0x0F
    y = ((data[0] & 0xE0) >> 5) | ((data[1] & 0xF0) >> 1)
    if data[0] == 0xFF and data[1] == 0xFF:
        return None, "date not specified (FFFFh)"
    try:
        return date(_year(y, 0), month, day), None
    except ValueError:
        return None, f"invalid date: year {y}, month {month}, day {day}"


def _datetime_f(data: bytes) -> tuple[datetime | None, str | None]:
    """Type F (annex A): compound CP32 date and time; IV bit marks invalid."""
    minute = data[0] & 0x3F
    hour = data[1] & 0x1F
    hundred = (data[1] >> 5) & 0x03
    day = data[2] & 0x1F
    month = data[3] & 0x0F
    y = ((data[2] & 0xE0) >> 5) | ((data[3] & 0xF0) >> 1)
    if data[0] & 0x80:
        return None, "time invalid (IV bit set)"
    try:
        return datetime(_year(y, hundred), month, day, hour, minute), None
    except ValueError:
        return None, (f"invalid date/time: year {y}, month {month}, day {day}, "
                      f"{hour:02d}:{minute:02d}")


def _datetime_i(data: bytes) -> tuple[datetime | None, str | None]:
    """Type I (annex A, 6 bytes): date and time with seconds."""
    second = data[0] & 0x3F
    minute = data[1] & 0x3F
    hour = data[2] & 0x1F
    day = data[3] & 0x1F
    month = data[4] & 0x0F
    y = ((data[3] & 0xE0) >> 5) | ((data[4] & 0xF0) >> 1)
    if data[1] & 0x80:
        return None, "time invalid (IV bit set)"
    try:
        return datetime(_year(y, 0), month, day, hour, minute, second), None
    except ValueError:
        return None, f"invalid date/time: year {y}, month {month}, day {day}"


def _time_j(data: bytes) -> tuple[time | None, str | None]:
    """Type J (annex A, 3 bytes): time of day."""
    try:
        return time(data[2] & 0x1F, data[1] & 0x3F, data[0] & 0x3F), None
    except ValueError:
        return None, "invalid time"


def _record_value(coding: str, data: bytes, kind: str, quantity: str, scale: Decimal,
                  lvar: int | None) -> tuple[object, str, str | None]:
    """Returns (value, coding, note)."""
    if kind == "date":
        n = len(data)
        if coding == "int16" or (n == 2 and coding == "lvar_binary"):
            v, note = _date_g(data)
            return v, "date_g", note
        if coding == "int32":
            v, note = _datetime_f(data)
            return v, "datetime_f", note
        if coding == "int48":
            v, note = _datetime_i(data)
            return v, "datetime_i", note
        if coding == "int24":
            v, note = _time_j(data)
            return v, "time_j", note
    if coding.startswith("int"):
        signed = quantity not in _UNSIGNED_QUANTITIES
        raw = int.from_bytes(data, "little", signed=signed)
        return Decimal(raw) * scale if scale != _ONE else Decimal(raw), coding, None
    if coding.startswith("bcd") or coding in ("lvar_bcd", "lvar_negative_bcd"):
        v, note = _bcd(data)
        if v is None:
            return None, coding, note
        if coding == "lvar_negative_bcd":
            v = -v
        return (v * scale if scale != _ONE else v), coding, note
    if coding == "real32":
        v = _real32(data)
        if v is None:
            return None, coding, "not a finite number"
        return (v * scale if scale != _ONE else v), coding, None
    if coding == "lvar_text":
        return data[::-1].decode("latin-1"), coding, None
    if coding == "lvar_binary":
        raw = int.from_bytes(data, "little", signed=True)
        if len(data) <= 8 and kind == "":
            return Decimal(raw) * scale, coding, None
        return bytes(data), coding, None
    if coding in ("none", "selection"):
        return None, coding, "no data" if coding == "none" else "selection for readout"
    # special (xFh with extension bits) and anything opaque: raw bytes
    return bytes(data), coding, None


def _lvar_kind(lvar: int, offset: int) -> tuple[str, int]:
    """LVAR byte (EN 13757-3 table 5) -> (coding, data length in bytes)."""
    if lvar <= 0xBF:
        return "lvar_text", lvar
    if lvar <= 0xC9:
        return "lvar_bcd", lvar - 0xC0
    if 0xD0 <= lvar <= 0xD9:
        return "lvar_negative_bcd", lvar - 0xD0
    if 0xE0 <= lvar <= 0xEF:
        return "lvar_binary", lvar - 0xE0
    if 0xF0 <= lvar <= 0xF4:
        return "lvar_binary", 4 * (lvar - 0xEC)
    if lvar == 0xF5:
        return "lvar_binary", 48
    if lvar == 0xF6:
        return "lvar_binary", 64
    raise _err(f"reserved LVAR value 0x{lvar:02X}", offset, "LVAR")


# ------------------------------------------------------------------ records


def _decode_records(data: bytes, start: int, base: int, msb_first: bool
                    ) -> tuple[tuple[DataRecord, ...], bool]:
    records: list[DataRecord] = []
    more = False
    n = len(data)
    i = start
    while i < n:
        dif = data[i]
        if dif == 0x2F:  # idle filler
            i += 1
            continue
        rec_start = i
        if (dif & 0x0F) == 0x0F:
            if dif == 0x0F or dif == 0x1F:
                more = dif == 0x1F
                payload = bytes(data[i + 1:])
                records.append(DataRecord(
                    base + rec_start, dif, (), None, (), payload, "manufacturer",
                    "more records follow" if more else "manufacturer specific",
                    0, 0, 0, "Manufacturer specific", "", payload))
                break
            if dif == 0x7F:
                raise _err("DIF 7Fh (global readout request) in a slave response",
                           base + i, "DIF")
            if (dif & 0x80) == 0:
                raise _err(f"reserved special function DIF 0x{dif:02X}", base + i, "DIF")
        i += 1
        # DIFE chain (EN 13757-3 6.3.4): storage, tariff, subunit bits.
        difes: list[int] = []
        last = dif
        while last & 0x80:
            if i >= n:
                raise _err("premature end of data: DIFE expected", base + i, "DIFE")
            if len(difes) == MAX_DIFE:
                raise _err(f"more than {MAX_DIFE} DIFE", base + i, "DIFE")
            last = data[i]
            difes.append(last)
            i += 1
        if i >= n:
            raise _err("premature end of data: VIF expected", base + i, "VIF")
        vif = data[i]
        i += 1
        text = None
        if (vif & 0x7F) == 0x7C:  # plain-text VIF (EN 13757-3 6.4.3)
            if i >= n:
                raise _err("premature end of data: plain-text VIF length expected",
                           base + i, "VIF length")
            tlen = data[i]
            i += 1
            if i + tlen > n:
                raise _err(f"plain-text VIF of {tlen} bytes runs past the end of the "
                           f"frame ({n - i} left)", base + i, "VIF text")
            raw_text = data[i:i + tlen]
            text = (raw_text if msb_first else raw_text[::-1]).decode("latin-1")
            i += tlen
        vifes: list[int] = []
        last = vif
        while last & 0x80:
            if i >= n:
                raise _err("premature end of data: VIFE expected", base + i, "VIFE")
            if len(vifes) == MAX_VIFE:
                raise _err(f"more than {MAX_VIFE} VIFE", base + i, "VIFE")
            last = data[i]
            vifes.append(last)
            i += 1
        coding, length = _CODINGS[dif & 0x0F]
        lvar = None
        if coding == "lvar":
            if i >= n:
                raise _err("premature end of data: LVAR expected", base + i, "LVAR")
            lvar = data[i]
            coding, length = _lvar_kind(lvar, base + i)
            i += 1
        if i + length > n:
            raise _err(f"premature end of data: {length} data bytes expected, "
                       f"{n - i} left", base + i, "data")
        field = bytes(data[i:i + length])
        i += length
        vife_t = tuple(vifes)
        unit, quantity, scale, meanings, kind, text = _vib_meaning(vif, vife_t, text)
        storage = (dif >> 6) & 1
        tariff = 0
        subunit = 0
        for k, e in enumerate(difes):
            storage |= (e & 0x0F) << (1 + 4 * k)
            tariff |= ((e >> 4) & 0x03) << (2 * k)
            subunit |= ((e >> 6) & 0x01) << k
        # Mode 2 sends multi-byte fields MSB first; text then reads in order.
        value_bytes = field[::-1] if msb_first else field
        if kind == "mfr":
            value, note = value_bytes, None
        else:
            value, coding, note = _record_value(coding, value_bytes, kind, quantity, scale, lvar)
        records.append(DataRecord(
            base + rec_start, dif, tuple(difes), vif, vife_t, field, coding,
            _FUNCTIONS[(dif >> 4) & 0x03], storage, tariff, subunit, quantity, unit,
            value, text, meanings, lvar, note))
    return tuple(records), more


# ------------------------------------------------------------------- headers


def _bcd_id(raw: bytes) -> tuple[int, str]:
    digits = raw[::-1].hex().upper()
    if digits.isdigit():
        return int(digits), digits
    value = 0
    for ch in digits:  # libmbus reads hex digits as their value, so do we
        value = value * 10 + int(ch, 16)
    return value, digits


_MANUFACTURERS: dict[int, str] = {}


def _manufacturer(code: int) -> str:
    name = _MANUFACTURERS.get(code)
    if name is None:
        name = _MANUFACTURERS[code] = manufacturer_code(code)
    return name


def _slave_header(data: bytes, msb_first: bool) -> SlaveHeader:
    if msb_first:
        id_raw, mfr_raw, sig_raw = data[3::-1], data[5:3:-1], data[11:9:-1]
    else:
        id_raw, mfr_raw, sig_raw = data[0:4], data[4:6], data[10:12]
    ident, digits = _bcd_id(id_raw)
    mfr = mfr_raw[0] | mfr_raw[1] << 8
    return SlaveHeader(
        ident, digits, _manufacturer(mfr), mfr, data[6], data[7], medium_name(data[7]),
        data[8], data[9], sig_raw[0] | sig_raw[1] << 8)


def _fixed(c: int, a: int, ci: int, data: bytes) -> FixedDataResponse:
    if len(data) != 16:
        raise _err(f"fixed data structure needs 16 bytes, got {len(data)}",
                   USER_DATA_OFFSET + min(len(data), 16), "fixed data")
    msb_first = ci == 0x77
    ident, digits = _bcd_id(data[3::-1] if msb_first else data[0:4])
    status = data[5]
    medium = ((data[6] & 0xC0) >> 6) | ((data[7] & 0xC0) >> 4)
    function = "stored" if status & 0x40 else "actual"
    counters = []
    for k in range(2):
        raw_b = data[8 + 4 * k:12 + 4 * k]
        if msb_first:
            raw_b = raw_b[::-1]
        unit_code = data[6 + k] & 0x3F
        note = None
        if status & 0x80:
            raw = int.from_bytes(raw_b, "little", signed=True)
            number: Decimal | None = Decimal(raw)
        else:
            number, note = _bcd(raw_b)
            raw = int(number) if number is not None else 0
        entry = FIXED_UNITS.get(unit_code)
        if entry is None:
            unit, quantity, value = FIXED_UNIT_TEXT[unit_code], "", number
        else:
            unit, quantity, scale = entry
            value = number * scale if number is not None else None
        counters.append(FixedCounter(function, unit_code, unit, quantity, raw, value, note))
    return FixedDataResponse(c, a, ci, ident, digits, data[4], status, medium,
                             FIXED_MEDIUM[medium], (counters[0], counters[1]))


def decode_user_data(c: int, a: int, ci: int, data: bytes) -> Telegram:
    """Decode the application layer of a slave's RSP_UD long frame."""
    if c & 0x40:
        raise _err(f"C-field 0x{c:02X} is a master-to-slave frame, not a response",
                   4, "C")
    if ci == 0x72 or ci == 0x76:
        if len(data) < 12:
            raise _err(f"variable data header needs 12 bytes, got {len(data)}",
                       USER_DATA_OFFSET + len(data), "header")
        msb_first = ci == 0x76
        header = _slave_header(data, msb_first)
        records, more = _decode_records(data, 12, USER_DATA_OFFSET, msb_first)
        return VariableDataResponse(c, a, ci, header, None, records, more, msb_first)
    if ci == 0x7A:
        if len(data) < 4:
            raise _err(f"short header needs 4 bytes, got {len(data)}",
                       USER_DATA_OFFSET + len(data), "header")
        short = (data[0], data[1], data[2] | data[3] << 8)
        records, more = _decode_records(data, 4, USER_DATA_OFFSET, False)
        return VariableDataResponse(c, a, ci, None, short, records, more, False)
    if ci == 0x78:
        records, more = _decode_records(data, 0, USER_DATA_OFFSET, False)
        return VariableDataResponse(c, a, ci, None, None, records, more, False)
    if ci == 0x73 or ci == 0x77:
        return _fixed(c, a, ci, data)
    if ci == 0x70:
        code = data[0] if data else 0
        return ApplicationError(c, a, code, application_error_text(code), bytes(data[1:]))
    raise _err(f"unsupported CI field 0x{ci:02X} in a response", 6, "CI")


def decode_frame(frame: bytes) -> Telegram:
    """Decode one whole RSP_UD long frame (link layer checked strictly)."""
    if not frame:
        raise _err("empty buffer, expected a long frame", 0, "start")
    start = frame[0]
    if start != START_LONG:
        kind = {ACK: "single character E5", START_SHORT: "short frame"}.get(start)
        if kind is not None:
            raise _err(f"{kind} carries no application data", 0, "start")
    link = parse_link_frame(frame)
    if not hasattr(link, "data"):
        raise _err("control frame carries no application data", 0, "start")
    return decode_user_data(link.c, link.a, link.ci, link.data)


__all__ = ["STOP", "decode_frame", "decode_user_data"]
