"""The Cython decoder agrees with the pure one on random frames (Hypothesis).

Frames are built from random records (random DIF, DIFE chain, VIF, VIFE
chain, data of the DIF's length or random garbage), so they exercise both
the valid paths and every error path. Both implementations must return equal
telegrams or raise FrameError with the same message.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.codecs import mbus
from firmware_bridge.codecs.mbus_link import encode_long_frame
from firmware_bridge.errors import FrameError

PY = mbus.load_impl("python")
CY = mbus.load_impl("cython")

_LENGTHS = (0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, 0, 6, 8)


@st.composite
def records(draw: st.DrawFn) -> bytes:
    dif = draw(st.integers(0, 255))
    out = bytearray([dif])
    if dif & 0x80:
        for k, e in enumerate(draw(st.lists(st.integers(0, 0x7F), min_size=1, max_size=3))):
            out.append(e | (0x80 if k < 2 and draw(st.booleans()) else 0))
    vif = draw(st.sampled_from([0x04, 0x13, 0x6C, 0x6D, 0x7C, 0xFC, 0xFD, 0xFB, 0xFF, 0x7B,
                                0x2B | 0x80, draw(st.integers(0, 255))]))
    out.append(vif)
    if vif & 0x7F == 0x7C:
        text = draw(st.binary(max_size=4))
        out += bytes([len(text)]) + text
    if vif & 0x80:
        chain = draw(st.lists(st.integers(0, 0x7F), min_size=1, max_size=3))
        out += bytes(c | (0x80 if k < len(chain) - 1 else 0) for k, c in enumerate(chain))
    if dif & 0x0F == 0x0D:
        lvar = draw(st.sampled_from([0x02, 0xC2, 0xD1, 0xE3, 0xF0, 0xF7]))
        size = {0x02: 2, 0xC2: 2, 0xD1: 1, 0xE3: 3, 0xF0: 16, 0xF7: 0}[lvar]
        out += bytes([lvar]) + draw(st.binary(min_size=size, max_size=size))
    else:
        n = _LENGTHS[dif & 0x0F]
        out += draw(st.binary(min_size=n, max_size=n))
    return bytes(out)


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    ci = draw(st.sampled_from([0x72, 0x72, 0x72, 0x76, 0x7A, 0x78, 0x73, 0x77, 0x70, 0x51]))
    header = draw(st.binary(min_size=12, max_size=12))
    body = b"".join(draw(st.lists(records(), max_size=8)))
    body += draw(st.binary(max_size=3))
    data = (header + body)[:252]
    if ci == 0x7A:
        data = data[:4] + body
    if ci in (0x73, 0x77):
        data = header + draw(st.binary(min_size=4, max_size=4))
    return encode_long_frame(draw(st.sampled_from([0x08, 0x18, 0x28])), 1, ci, data[:252])


def _outcome(module: object, frame: bytes) -> object:
    """The telegram's repr (so Decimal('1.0') != Decimal('1.00')), or the error."""
    try:
        return repr(module.decode_frame(frame))
    except FrameError as exc:
        return ("FrameError", str(exc), exc.offset, exc.field)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_python_and_cython_agree_on_random_frames(frame: bytes) -> None:
    assert _outcome(PY, frame) == _outcome(CY, frame)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_python_and_cython_agree_on_random_bytes(buf: bytes) -> None:
    assert _outcome(PY, buf) == _outcome(CY, buf)
