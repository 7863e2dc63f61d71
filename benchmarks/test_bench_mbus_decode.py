"""Wired M-Bus decode: pure Python vs Cython vs pyMeterBus on the same frames.

The workload is every libmbus test frame that pyMeterBus can decode, each
decoded completely: our decoders return every record's exact value, unit and
quantity, so pyMeterBus is asked for each record's value, unit and function
too (its records are lazy). Floors from issue 4: Cython >= 10x pyMeterBus,
pure >= pyMeterBus. Nothing here asserts on time; run with

    .venv/bin/pytest benchmarks/test_bench_mbus_decode.py --benchmark-json=mbus.json

and read the medians side by side (the group prints them together).
"""

from __future__ import annotations

from pathlib import Path

import meterbus
import pytest

from firmware_bridge.codecs import mbus
from firmware_bridge.codecs.mbus_records import VariableDataResponse

VECTORS = Path("/work/shared/vectors/mbus/libmbus/test-frames")


def _pymeterbus_decode(frame: bytes) -> list[tuple[object, object, object]]:
    telegram = meterbus.load(frame)
    return [(r.value, r.unit, r.function) for r in telegram.records]


def _shared_frames() -> list[bytes]:
    frames = []
    for path in sorted(VECTORS.glob("*.hex")):
        frame = bytes.fromhex("".join(path.read_text().split()))
        try:
            _pymeterbus_decode(frame)
        except Exception:  # pyMeterBus cannot read it: not a shared frame
            continue
        frames.append(frame)
    return frames


FRAMES = _shared_frames()
GROUP = f"mbus-decode-{len(FRAMES)}-frames"


def _decode_all(decode_frame) -> int:
    records = 0
    for frame in FRAMES:
        telegram = decode_frame(frame)
        if isinstance(telegram, VariableDataResponse):
            records += len(telegram.records)
    return records


@pytest.mark.benchmark(group=GROUP)
def test_decode_pymeterbus(benchmark) -> None:
    records = benchmark(lambda: sum(len(_pymeterbus_decode(f)) for f in FRAMES))
    assert records > len(FRAMES)


@pytest.mark.benchmark(group=GROUP)
def test_decode_pure_python(benchmark) -> None:
    impl = mbus.load_impl("python")
    assert benchmark(_decode_all, impl.decode_frame) > len(FRAMES)


@pytest.mark.benchmark(group=GROUP)
def test_decode_cython(benchmark) -> None:
    impl = mbus.load_impl("cython")
    assert benchmark(_decode_all, impl.decode_frame) > len(FRAMES)
