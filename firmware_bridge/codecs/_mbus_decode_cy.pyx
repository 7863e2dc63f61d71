# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Cython EN 13757-3 decoder: same function, same objects as ``_mbus_decode_py``.

The record loop (DIF/DIFE/VIF/VIFE walk, integer and BCD decoding, storage,
tariff and subunit bits) runs on a C pointer over the user data; the rare
paths (dates, reals, text, headers, fixed structure, VIB tables) reuse the
pure module's functions so both implementations share one definition of
every table. ``tests/firmware_bridge/mbus_codec`` checks they agree on every
vector and on Hypothesis-generated frames.
"""

from decimal import Decimal

from firmware_bridge.codecs import _mbus_decode_py as _py
from firmware_bridge.codecs.mbus_link import parse_link_frame, START_LONG, ACK, START_SHORT
from firmware_bridge.codecs.mbus_records import (
    ApplicationError,
    DataRecord,
    VariableDataResponse,
)
from firmware_bridge.codecs.mbus_tables import application_error_text

__impl__ = "cython"

cdef object _err = _py._err
cdef object _vib_meaning = _py._vib_meaning
cdef dict _VIB_CACHE = _py._VIB_CACHE
cdef object _record_value = _py._record_value
cdef object _lvar_kind = _py._lvar_kind
cdef object _bcd_py = _py._bcd
cdef tuple _FUNCTIONS = _py._FUNCTIONS
cdef tuple _CODINGS = _py._CODINGS
cdef frozenset _UNSIGNED = _py._UNSIGNED_QUANTITIES
cdef object _ONE = Decimal(1)
cdef object _Decimal = Decimal
cdef int MAX_DIFE = _py.MAX_DIFE
cdef int MAX_VIFE = _py.MAX_VIFE
cdef int USER_DATA_OFFSET = _py.USER_DATA_OFFSET

# data length per DIF coding nibble (EN 13757-3 table 4); LVAR = 0xFF marker
# VIB meaning of a lone VIF (no VIFE, no text): the common case, one list index.
cdef list _SIMPLE_VIB = [None] * 256

cdef int[16] _LEN = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0xFF, 6, 8]


cdef object _int_value(const unsigned char* p, Py_ssize_t length, bint signed):
    cdef unsigned long long acc = 0
    cdef long long sval
    cdef Py_ssize_t k
    for k in range(length - 1, -1, -1):
        acc = (acc << 8) | p[k]
    if signed and length > 0 and (p[length - 1] & 0x80):
        if length == 8:
            sval = <long long>acc
        else:
            sval = <long long>acc - (<long long>1 << (8 * length))
        return sval
    return acc


cdef object _bcd_value(const unsigned char* p, Py_ssize_t length):
    """Exact BCD or None when a digit is not decimal (the pure path adds the note)."""
    cdef long long acc = 0
    cdef Py_ssize_t k
    cdef int hi, lo
    cdef bint negative = False
    if length == 0:
        return None
    for k in range(length - 1, -1, -1):
        hi = p[k] >> 4
        lo = p[k] & 0x0F
        if k == length - 1 and hi == 0x0F:
            negative = True
            hi = 0
        if hi > 9 or lo > 9:
            return None
        acc = acc * 100 + hi * 10 + lo
    return -acc if negative else acc


cdef tuple _decode_records(bytes data, Py_ssize_t start, Py_ssize_t base, bint msb_first):
    cdef const unsigned char* p = data
    cdef Py_ssize_t n = len(data)
    cdef Py_ssize_t i = start
    cdef Py_ssize_t rec_start, length, tlen, k
    cdef int dif, vif, last, e, ndife, nvife, coding_nibble
    cdef long long storage, tariff, subunit
    cdef bint more = False
    cdef list records = []
    cdef list difes, vifes
    cdef bytes field, payload
    cdef object lvar, text, value, note, coding, hit, vife_t, quantity, scale, iv
    cdef str kind
    while i < n:
        dif = p[i]
        if dif == 0x2F:
            i += 1
            continue
        rec_start = i
        if (dif & 0x0F) == 0x0F:
            if dif == 0x0F or dif == 0x1F:
                more = dif == 0x1F
                payload = data[i + 1:]
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
        difes = None
        last = dif
        storage = (dif >> 6) & 1
        tariff = 0
        subunit = 0
        ndife = 0
        while last & 0x80:
            if i >= n:
                raise _err("premature end of data: DIFE expected", base + i, "DIFE")
            if ndife == MAX_DIFE:
                raise _err(f"more than {MAX_DIFE} DIFE", base + i, "DIFE")
            last = p[i]
            if difes is None:
                difes = [last]
            else:
                difes.append(last)
            storage |= (<long long>(last & 0x0F)) << (1 + 4 * ndife)
            tariff |= (<long long>((last >> 4) & 0x03)) << (2 * ndife)
            subunit |= (<long long>((last >> 6) & 0x01)) << ndife
            ndife += 1
            i += 1
        if i >= n:
            raise _err("premature end of data: VIF expected", base + i, "VIF")
        vif = p[i]
        i += 1
        text = None
        if (vif & 0x7F) == 0x7C:
            if i >= n:
                raise _err("premature end of data: plain-text VIF length expected",
                           base + i, "VIF length")
            tlen = p[i]
            i += 1
            if i + tlen > n:
                raise _err(f"plain-text VIF of {tlen} bytes runs past the end of the "
                           f"frame ({n - i} left)", base + i, "VIF text")
            if msb_first:
                text = data[i:i + tlen].decode("latin-1")
            else:
                text = data[i:i + tlen][::-1].decode("latin-1")
            i += tlen
        vifes = None
        last = vif
        nvife = 0
        while last & 0x80:
            if i >= n:
                raise _err("premature end of data: VIFE expected", base + i, "VIFE")
            if nvife == MAX_VIFE:
                raise _err(f"more than {MAX_VIFE} VIFE", base + i, "VIFE")
            last = p[i]
            if vifes is None:
                vifes = [last]
            else:
                vifes.append(last)
            nvife += 1
            i += 1
        coding_nibble = dif & 0x0F
        length = _LEN[coding_nibble]
        coding = (<tuple>_CODINGS[coding_nibble])[0]
        lvar = None
        if length == 0xFF:
            if i >= n:
                raise _err("premature end of data: LVAR expected", base + i, "LVAR")
            lvar = p[i]
            coding, length = _lvar_kind(lvar, base + i)
            i += 1
        if i + length > n:
            raise _err(f"premature end of data: {length} data bytes expected, "
                       f"{n - i} left", base + i, "data")
        field = data[i:i + length]
        if vifes is None and text is None:
            vife_t = ()
            hit = _SIMPLE_VIB[vif]
            if hit is None:
                hit = _vib_meaning(vif, vife_t, text)
                _SIMPLE_VIB[vif] = hit
        else:
            vife_t = tuple(vifes) if vifes is not None else ()
            hit = _VIB_CACHE.get((vif, vife_t, text))
            if hit is None:
                hit = _vib_meaning(vif, vife_t, text)
        unit, quantity, scale, meanings, kind, text = hit
        note = None
        if kind == "mfr":
            value = field[::-1] if msb_first else field
        elif kind == "" and not msb_first and 1 <= coding_nibble <= 7 and coding_nibble != 5:
            iv = _Decimal(_int_value(p + i, length, quantity not in _UNSIGNED))
            value = iv if scale is _ONE or scale == _ONE else iv * scale
        elif kind == "" and not msb_first and (9 <= coding_nibble <= 12 or coding_nibble == 14):
            iv = _bcd_value(p + i, length)
            if iv is None:
                value, note = _bcd_py(field)
            else:
                iv = _Decimal(iv)
                value = iv if scale == _ONE else iv * scale
        else:
            value, coding, note = _record_value(
                coding, field[::-1] if msb_first else field, kind, quantity, scale, lvar)
        i += length
        records.append(DataRecord(
            base + rec_start, dif, tuple(difes) if difes is not None else (), vif, vife_t, field, coding,
            _FUNCTIONS[(dif >> 4) & 0x03], storage, tariff, subunit, quantity, unit,
            value, text, meanings, lvar, note))
    return tuple(records), more


def decode_user_data(int c, int a, int ci, data):
    """Decode the application layer of a slave's RSP_UD long frame."""
    cdef bytes buf = data if type(data) is bytes else bytes(data)
    if c & 0x40:
        raise _err(f"C-field 0x{c:02X} is a master-to-slave frame, not a response", 4, "C")
    if ci == 0x72 or ci == 0x76:
        if len(buf) < 12:
            raise _err(f"variable data header needs 12 bytes, got {len(buf)}",
                       USER_DATA_OFFSET + len(buf), "header")
        header = _py._slave_header(buf, ci == 0x76)
        records, more = _decode_records(buf, 12, USER_DATA_OFFSET, ci == 0x76)
        return VariableDataResponse(c, a, ci, header, None, records, more, ci == 0x76)
    if ci == 0x7A:
        if len(buf) < 4:
            raise _err(f"short header needs 4 bytes, got {len(buf)}",
                       USER_DATA_OFFSET + len(buf), "header")
        short = (buf[0], buf[1], buf[2] | buf[3] << 8)
        records, more = _decode_records(buf, 4, USER_DATA_OFFSET, False)
        return VariableDataResponse(c, a, ci, None, short, records, more, False)
    if ci == 0x78:
        records, more = _decode_records(buf, 0, USER_DATA_OFFSET, False)
        return VariableDataResponse(c, a, ci, None, None, records, more, False)
    if ci == 0x73 or ci == 0x77:
        return _py._fixed(c, a, ci, buf)
    if ci == 0x70:
        code = buf[0] if buf else 0
        return ApplicationError(c, a, code, application_error_text(code), buf[1:])
    raise _err(f"unsupported CI field 0x{ci:02X} in a response", 6, "CI")


def decode_frame(frame):
    """Decode one whole RSP_UD long frame (link layer checked strictly).

    A well-formed long frame is checked here in C; anything else goes to
    ``parse_link_frame`` so the error message is the same as the pure one.
    """
    cdef bytes buf
    cdef const unsigned char* q
    cdef Py_ssize_t n, L, k
    cdef unsigned int cs = 0
    if isinstance(frame, bytes):
        buf = <bytes>frame
        q = buf
        n = len(buf)
        if n >= 9 and q[0] == 0x68 and q[3] == 0x68 and q[1] == q[2] and q[1] > 3:
            L = q[1]
            if n == L + 6 and q[n - 1] == 0x16:
                for k in range(4, 4 + L):
                    cs += q[k]
                if (cs & 0xFF) == q[4 + L]:
                    return decode_user_data(q[4], q[5], q[6], buf[7:4 + L])
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
