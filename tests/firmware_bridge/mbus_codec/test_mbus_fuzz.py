"""Fuzz: mutated vectors and random frames give a decode or FrameError, nothing else.

Mutations keep the link layer valid (the checksum is recomputed) so they reach
the application-layer decoder. Any other exception (IndexError, ValueError,
OverflowError...) fails the test, and pytest-timeout catches a hang. The
normal suite runs a small count; CI's fuzz job sets METERBILL_FUZZ_EXAMPLES
(>= 100000).
"""

from __future__ import annotations

import os
import random
from types import ModuleType

import pytest

from firmware_bridge.codecs.mbus_link import encode_long_frame, parse_link_frame
from firmware_bridge.codecs.mbus_xml import to_libmbus_xml
from firmware_bridge.errors import FrameError

from .conftest import VECTORS, read_hex

SEEDS = [read_hex(p) for p in sorted((VECTORS / "test-frames").glob("*.hex"))]


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    link = parse_link_frame(frame)
    data = bytearray(link.data)
    ci = link.ci
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op < 0.6 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op < 0.75 and data:
            del data[pos:pos + rng.randint(1, 8)]
        elif op < 0.9:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            ci = rng.choice((0x72, 0x76, 0x7A, 0x78, 0x73, 0x77, 0x70))
    return encode_long_frame(link.c, link.a, ci, bytes(data[:252]))


def _random_frame(rng: random.Random) -> bytes:
    n = rng.randrange(0, 60)
    ci = rng.choice((0x72, 0x76, 0x7A, 0x78, 0x73, 0x77, 0x70, rng.randrange(256)))
    return encode_long_frame(0x08, rng.randrange(256), ci, bytes(rng.randrange(256)
                                                                  for _ in range(n)))


def _run(impl: ModuleType, count: int, seed: int) -> int:
    rng = random.Random(seed)
    decoded = 0
    for k in range(count):
        frame = _random_frame(rng) if k % 5 == 4 else _mutate(rng, rng.choice(SEEDS))
        try:
            telegram = impl.decode_frame(frame)
        except FrameError as exc:
            assert exc.offset is not None or exc.field, str(exc)
            continue
        to_libmbus_xml(telegram)  # the XML writer must cope with anything decoded
        decoded += 1
    return decoded


@pytest.mark.timeout(60)
def test_fuzz_smoke_mutated_and_random_frames(impl: ModuleType) -> None:
    decoded = _run(impl, 300, seed=13757)
    assert 0 < decoded < 300  # both outcomes occur: the fuzzer reaches both paths


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
def test_fuzz_mutated_and_random_frames(impl: ModuleType) -> None:
    count = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "500"))
    _run(impl, count, seed=int(os.environ.get("METERBILL_FUZZ_SEED", "4")))
