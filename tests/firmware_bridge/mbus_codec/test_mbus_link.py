"""EN 13757-2 link layer: encode, strict parse, streaming find."""

from __future__ import annotations

import pytest

from firmware_bridge.codecs.mbus_link import (
    ControlFrame,
    LongFrame,
    ShortFrame,
    SingleChar,
    encode_control_frame,
    encode_long_frame,
    encode_short_frame,
    find_link_frame,
    parse_link_frame,
)
from firmware_bridge.errors import ChecksumError, FrameError


def test_short_frame_bytes_and_roundtrip() -> None:
    frame = encode_short_frame(0x7B, 0x05)
    assert frame == bytes.fromhex("107B058016")
    assert parse_link_frame(frame) == ShortFrame(0x7B, 0x05)


def test_control_frame_is_long_frame_without_data() -> None:
    frame = encode_control_frame(0x53, 0xFE, 0x51)
    assert frame == bytes.fromhex("6803036853FE51A216")
    assert parse_link_frame(frame) == ControlFrame(0x53, 0xFE, 0x51)
    assert encode_long_frame(0x53, 0xFE, 0x51, b"") == frame


def test_long_frame_roundtrip_and_checksum() -> None:
    frame = encode_long_frame(0x08, 0x01, 0x72, bytes(range(10)))
    assert frame[:4] == bytes.fromhex("680D0D68")
    assert frame[-2] == (0x08 + 0x01 + 0x72 + sum(range(10))) & 0xFF
    assert parse_link_frame(frame) == LongFrame(0x08, 0x01, 0x72, bytes(range(10)))


def test_single_char() -> None:
    assert parse_link_frame(b"\xe5") == SingleChar()


def test_long_frame_rejects_bad_checksum() -> None:
    frame = bytearray(encode_long_frame(0x08, 0x01, 0x72, b"\x01\x02"))
    frame[-2] ^= 0xFF
    with pytest.raises(ChecksumError) as info:
        parse_link_frame(bytes(frame))
    assert info.value.offset == len(frame) - 2
    assert info.value.field == "CS"


@pytest.mark.parametrize(
    ("frame", "offset", "field"),
    [
        (bytes.fromhex("680505680801"), 6, "data"),  # truncated
        (bytes.fromhex("6804056808017000"), 2, "L"),  # L bytes differ
        (bytes.fromhex("6804046908017079" "15"), 3, "start2"),
        (bytes.fromhex("680404680801700079" "17"), 9, "stop"),
        (bytes.fromhex("680000680816"), 1, "L"),
        (bytes.fromhex("41"), 0, "start"),
        (encode_short_frame(0x40, 1) + b"\x00", 5, "end"),
    ],
)
def test_parse_rejects_malformed_frames_with_offset(frame: bytes, offset: int, field: str) -> None:
    with pytest.raises(FrameError) as info:
        parse_link_frame(frame)
    assert (info.value.offset, info.value.field) == (offset, field)
    assert f"at byte {offset}" in str(info.value)


def test_find_waits_for_more_bytes() -> None:
    frame = encode_long_frame(0x08, 0x01, 0x72, bytes(20))
    for cut in range(1, len(frame)):
        assert find_link_frame(frame[:cut]) == (None, 0)
    assert find_link_frame(b"") == (None, 0)


def test_find_skips_noise_and_counts_it() -> None:
    frame = encode_short_frame(0x5B, 0x01)
    buf = b"\x00\x01\x02" + frame
    assert find_link_frame(buf) == (None, 3)
    assert find_link_frame(buf[3:]) == (ShortFrame(0x5B, 0x01), 5)


def test_find_drops_one_byte_of_a_corrupt_frame() -> None:
    frame = bytearray(encode_long_frame(0x08, 0x01, 0x72, bytes(5)))
    frame[-1] = 0x17  # bad stop byte
    assert find_link_frame(bytes(frame)) == (None, 1)
    frame = bytearray(encode_short_frame(0x40, 1))
    frame[3] ^= 1
    assert find_link_frame(bytes(frame)) == (None, 1)


def test_find_accepts_memoryview_and_ack() -> None:
    assert find_link_frame(memoryview(b"\xe5\xe5")) == (SingleChar(), 1)
    frame = encode_long_frame(0x08, 0x02, 0x72, b"\x01")
    assert find_link_frame(bytearray(frame + b"\xe5")) == (LongFrame(8, 2, 0x72, b"\x01"), 10)


def test_encode_rejects_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="C = 256"):
        encode_short_frame(256, 1)
    with pytest.raises(ValueError, match="at most 252"):
        encode_long_frame(8, 1, 0x72, bytes(253))
