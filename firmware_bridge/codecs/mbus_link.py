"""Wired M-Bus link layer (EN 13757-2, clause 5: FT 1.2 frame formats).

Four frame formats share the bus; the first byte tells them apart::

    single character   E5
    short frame        10 | C | A | CS | 16                         (5 bytes)
    control frame      68 | L=03 | L=03 | 68 | C | A | CI | CS | 16  (9 bytes)
    long frame         68 | L | L | 68 | C | A | CI | data... | CS | 16
                       L = 3 + len(data), 3 < L <= 255; total L + 6 bytes

``CS`` is the arithmetic sum modulo 256 of every byte from C up to the last
data byte (EN 13757-2 5.4 / IEC 60870-5-1 FT 1.2); ``L`` is repeated so that a
single corrupted length byte is caught before the checksum is even reached.

The control frame is the long frame without user data: EN 13757-2 gives it
``L = 3``, so a long frame never has ``L = 3`` and :func:`parse_link_frame`
returns :class:`ControlFrame` for it.

Two entry points:

* :func:`parse_link_frame` is strict: the buffer must hold exactly one whole
  frame, otherwise :class:`~firmware_bridge.errors.FrameError` (or
  :class:`~firmware_bridge.errors.ChecksumError`) names the byte offset and
  field that were wrong.
* :func:`find_link_frame` is the streaming form used by transports (see
  STYLE.md "Protocol code"): it returns ``(frame | None, consumed)`` and never
  raises on noise, because a serial line carries collision garbage that the
  caller should count and drop, not die on.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge.errors import ChecksumError, FrameError

PROTOCOL = "M-Bus link"

ACK = 0xE5
START_SHORT = 0x10
START_LONG = 0x68
STOP = 0x16

# C-field (EN 13757-2 5.5). Bit 5 is FCB (master->slave) / ACD (slave->master),
# bit 4 is FCV (master->slave) / DFC (slave->master).
FCB = 0x20
FCV = 0x10
SND_NKE = 0x40
SND_UD = 0x53  # FCV set; | FCB -> 0x73
REQ_UD2 = 0x5B  # FCV set; | FCB -> 0x7B
REQ_UD1 = 0x5A  # FCV set; | FCB -> 0x7A
RSP_UD = 0x08
# Direction bit (PRM): 1 for master -> slave.
C_DIRECTION_MASTER = 0x40

# A-field (EN 13757-2 5.6).
ADDRESS_UNCONFIGURED = 0x00
ADDRESS_NETWORK_LAYER = 0xFD  # secondary addressing: talk to the selected slave
ADDRESS_TEST = 0xFE  # every slave answers (point-to-point)
ADDRESS_BROADCAST = 0xFF  # every slave listens, none answers

MAX_LONG_FRAME_USER_DATA = 252  # L <= 255, minus C, A, CI


@dataclass(frozen=True, slots=True)
class SingleChar:
    """The single character E5h: positive acknowledge from a slave."""


@dataclass(frozen=True, slots=True)
class ShortFrame:
    """Short frame ``10 C A CS 16``: SND_NKE, REQ_UD1/2, slave select answers."""

    c: int
    a: int


@dataclass(frozen=True, slots=True)
class ControlFrame:
    """Control frame: a long frame without user data (``L = 3``)."""

    c: int
    a: int
    ci: int


@dataclass(frozen=True, slots=True)
class LongFrame:
    """Long frame; ``data`` is the user data after the CI field."""

    c: int
    a: int
    ci: int
    data: bytes


LinkFrame = SingleChar | ShortFrame | ControlFrame | LongFrame


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} = {value!r}: must be one byte (0..255)")


def encode_short_frame(c: int, a: int) -> bytes:
    """Build ``10 C A CS 16`` (EN 13757-2 5.2)."""
    _check_byte("C", c)
    _check_byte("A", a)
    return bytes((START_SHORT, c, a, (c + a) & 0xFF, STOP))


def encode_control_frame(c: int, a: int, ci: int) -> bytes:
    """Build ``68 03 03 68 C A CI CS 16`` (EN 13757-2 5.3)."""
    _check_byte("C", c)
    _check_byte("A", a)
    _check_byte("CI", ci)
    return bytes((START_LONG, 3, 3, START_LONG, c, a, ci, (c + a + ci) & 0xFF, STOP))


def encode_long_frame(c: int, a: int, ci: int, data: bytes) -> bytes:
    """Build ``68 L L 68 C A CI data CS 16`` (EN 13757-2 5.3).

    With empty ``data`` the result is a control frame, as the standard defines.
    """
    _check_byte("C", c)
    _check_byte("A", a)
    _check_byte("CI", ci)
    data = bytes(data)
    if len(data) > MAX_LONG_FRAME_USER_DATA:
        raise ValueError(
            f"long frame user data is {len(data)} bytes; at most "
            f"{MAX_LONG_FRAME_USER_DATA} fit (L <= 255)"
        )
    length = 3 + len(data)
    cs = (c + a + ci + sum(data)) & 0xFF
    return bytes((START_LONG, length, length, START_LONG, c, a, ci)) + data + bytes((cs, STOP))


def _frame_from_long(buf: bytes | bytearray | memoryview, length: int) -> LinkFrame:
    c, a, ci = buf[4], buf[5], buf[6]
    if length == 3:
        return ControlFrame(c, a, ci)
    return LongFrame(c, a, ci, bytes(buf[7 : 4 + length]))


def parse_link_frame(buf: bytes) -> LinkFrame:
    """Decode exactly one whole link-layer frame.

    Raises :class:`FrameError` naming offset and field for a wrong start byte,
    length, stop byte or trailing bytes, and :class:`ChecksumError` for a
    checksum mismatch.
    """
    buf = bytes(buf)
    n = len(buf)
    if n == 0:
        raise FrameError(PROTOCOL, "empty buffer, expected a frame", offset=0, field="start")
    start = buf[0]
    if start == ACK:
        if n != 1:
            raise FrameError(
                PROTOCOL, f"{n - 1} bytes after single character E5", offset=1, field="end"
            )
        return SingleChar()
    if start == START_SHORT:
        if n < 5:
            raise FrameError(
                PROTOCOL, f"short frame truncated: {n} of 5 bytes", offset=n, field="short frame"
            )
        cs = (buf[1] + buf[2]) & 0xFF
        if buf[3] != cs:
            raise ChecksumError(
                PROTOCOL,
                f"short frame checksum mismatch: expected 0x{cs:02X}, got 0x{buf[3]:02X}",
                offset=3,
                field="CS",
            )
        if buf[4] != STOP:
            raise FrameError(
                PROTOCOL, f"expected stop byte 0x16, got 0x{buf[4]:02X}", offset=4, field="stop"
            )
        if n != 5:
            raise FrameError(
                PROTOCOL, f"{n - 5} bytes after the short frame", offset=5, field="end"
            )
        return ShortFrame(buf[1], buf[2])
    if start != START_LONG:
        raise FrameError(
            PROTOCOL,
            f"expected start byte 0xE5, 0x10 or 0x68, got 0x{start:02X}",
            offset=0,
            field="start",
        )
    if n < 4:
        raise FrameError(PROTOCOL, f"long frame header truncated: {n} of 4 bytes", offset=n,
                         field="L")
    length = buf[1]
    if buf[2] != length:
        raise FrameError(
            PROTOCOL,
            f"length bytes differ: L=0x{length:02X}, repeated L=0x{buf[2]:02X}",
            offset=2,
            field="L",
        )
    if length < 3:
        raise FrameError(
            PROTOCOL, f"length L={length} is below 3 (C, A, CI)", offset=1, field="L"
        )
    if buf[3] != START_LONG:
        raise FrameError(
            PROTOCOL, f"expected second start byte 0x68, got 0x{buf[3]:02X}", offset=3,
            field="start2",
        )
    total = length + 6
    if n < total:
        raise FrameError(
            PROTOCOL,
            f"long frame truncated: L={length} needs {total} bytes, got {n}",
            offset=n,
            field="data",
        )
    cs = sum(buf[4 : 4 + length]) & 0xFF
    if buf[4 + length] != cs:
        raise ChecksumError(
            PROTOCOL,
            f"checksum mismatch: expected 0x{cs:02X}, got 0x{buf[4 + length]:02X}",
            offset=4 + length,
            field="CS",
        )
    if buf[5 + length] != STOP:
        raise FrameError(
            PROTOCOL,
            f"expected stop byte 0x16, got 0x{buf[5 + length]:02X}",
            offset=5 + length,
            field="stop",
        )
    if n != total:
        raise FrameError(
            PROTOCOL, f"{n - total} bytes after the long frame", offset=total, field="end"
        )
    return _frame_from_long(buf, length)


_STARTS = (ACK, START_SHORT, START_LONG)


def find_link_frame(buf: bytes | bytearray | memoryview) -> tuple[LinkFrame | None, int]:
    """Find the next frame at the start of a receive buffer.

    Returns ``(None, 0)`` when more bytes are needed, ``(None, n)`` when the
    first ``n`` bytes are noise to drop (the caller counts them), and
    ``(frame, n)`` when a frame used the first ``n`` bytes. Never raises on
    noise: a start byte whose frame fails its length, checksum or stop byte
    check is dropped as one noise byte so the hunt resumes right after it.
    """
    n = len(buf)
    if n == 0:
        return None, 0
    start = buf[0]
    if start == ACK:
        return SingleChar(), 1
    if start == START_SHORT:
        if n < 5:
            return None, 0
        if buf[3] == ((buf[1] + buf[2]) & 0xFF) and buf[4] == STOP:
            return ShortFrame(buf[1], buf[2]), 5
        return None, 1
    if start == START_LONG:
        if n < 4:
            # A wrong L pair or second start byte already seen is noise now.
            if n >= 3 and buf[2] != buf[1]:
                return None, 1
            if n >= 2 and buf[1] < 3:
                return None, 1
            return None, 0
        length = buf[1]
        if buf[2] != length or length < 3 or buf[3] != START_LONG:
            return None, 1
        total = length + 6
        if n < total:
            return None, 0
        if (sum(buf[4 : 4 + length]) & 0xFF) != buf[4 + length] or buf[5 + length] != STOP:
            return None, 1
        return _frame_from_long(buf, length), total
    skip = 1
    while skip < n and buf[skip] not in _STARTS:
        skip += 1
    return None, skip


__all__ = [
    "ACK",
    "ADDRESS_BROADCAST",
    "ADDRESS_NETWORK_LAYER",
    "ADDRESS_TEST",
    "ADDRESS_UNCONFIGURED",
    "FCB",
    "FCV",
    "REQ_UD1",
    "REQ_UD2",
    "RSP_UD",
    "SND_NKE",
    "SND_UD",
    "ControlFrame",
    "LinkFrame",
    "LongFrame",
    "ShortFrame",
    "SingleChar",
    "encode_control_frame",
    "encode_long_frame",
    "encode_short_frame",
    "find_link_frame",
    "parse_link_frame",
]
