"""``mbus.decode``: the streaming shape of STYLE.md, ``(telegram | None, consumed)``."""

from __future__ import annotations

import pytest

from firmware_bridge.codecs import mbus
from firmware_bridge.codecs.mbus_link import encode_short_frame
from firmware_bridge.codecs.mbus_records import VariableDataResponse
from firmware_bridge.errors import FrameError

from .conftest import VECTORS, read_hex


def test_stream_waits_skips_noise_and_decodes() -> None:
    frame = read_hex(VECTORS / "test-frames" / "els_falcon.hex")
    buf = b"\x00\xff" + frame + b"\xe5" + encode_short_frame(0x5B, 1)
    got = []
    pos = 0
    noise = 0
    while pos < len(buf):
        telegram, used = mbus.decode(buf[pos:])
        assert used > 0
        if telegram is None:
            noise += used
        else:
            got.append(telegram)
        pos += used
    assert len(got) == 1 and isinstance(got[0], VariableDataResponse)
    assert got[0].header.manufacturer == "ELS"
    assert noise == 2 + 1 + 5  # two noise bytes, the E5 and the short frame
    assert mbus.decode(frame[:-1]) == (None, 0)


def test_stream_raises_on_valid_link_but_broken_application_data() -> None:
    with pytest.raises(FrameError):
        mbus.decode(read_hex(VECTORS / "error-frames" / "premature_end_of_data1.hex"))
