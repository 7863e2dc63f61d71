"""Gateway buffer write throughput with the production durability setting, beside baselines.

Workload: 5,000 readings of 500 meters (10 poll cycles of 500 readings) into a
fresh buffer file on the real disk.  Production (``gateway.buffer``): WAL,
``synchronous=FULL``, one transaction (one fsync) per poll cycle.  Baselines:
the same with one transaction per reading (what storing each reading as it is
read would cost), and the production batching with ``synchronous=NORMAL`` (what
FULL costs over the setting that may lose the last commits on a power cut).
Issue 6 sets the floor: ≥ 20,000 readings/s with the production setting; the
rate is stored in ``extra_info["readings_per_s"]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.buffer import ReadingBuffer
from gateway.reading import Reading

READINGS = 5_000
PER_CYCLE = 500
GROUP = f"gateway-buffer-write-{READINGS // 1000}k-readings"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def cycles() -> list[list[Reading]]:
    out = []
    for c in range(READINGS // PER_CYCLE):
        at = T0 + timedelta(minutes=15 * c)
        out.append([Reading(f"SDM-{m:04d}", "energy_import_kwh", at, Decimal(1000 + c) / 4)
                    for m in range(PER_CYCLE)])
    return out


def run(benchmark, tmp_path: Path, write: Callable[[ReadingBuffer, list[list[Reading]]], None],
        synchronous: str, rounds: int = 5) -> None:
    data = cycles()
    counter = itertools.count()
    buffers: list[ReadingBuffer] = []

    def setup() -> tuple[tuple[ReadingBuffer, list[list[Reading]]], dict]:
        buf = ReadingBuffer(tmp_path / f"buf-{next(counter)}.sqlite3",
                            max_readings=10 * READINGS, max_age_s=10 * 365 * 86400,
                            synchronous=synchronous)
        buffers.append(buf)
        return (buf, data), {}

    benchmark.pedantic(write, setup=setup, rounds=rounds, iterations=1)
    benchmark.extra_info["readings_per_s"] = round(READINGS / benchmark.stats.stats.median)
    for buf in buffers:
        assert buf.state().depth == READINGS
        buf.close()


def per_cycle(buf: ReadingBuffer, data: list[list[Reading]]) -> None:
    for cycle in data:
        buf.append(cycle, T0)


def per_reading(buf: ReadingBuffer, data: list[list[Reading]]) -> None:
    for cycle in data:
        for reading in cycle:
            buf.append([reading], T0)


@pytest.mark.benchmark(group=GROUP)
def test_buffer_write_per_cycle_synchronous_full(benchmark, tmp_path: Path) -> None:
    run(benchmark, tmp_path, per_cycle, "FULL")


@pytest.mark.benchmark(group=GROUP)
def test_buffer_write_per_reading_synchronous_full_baseline(benchmark, tmp_path: Path) -> None:
    run(benchmark, tmp_path, per_reading, "FULL", rounds=3)  # ~10 s a round


@pytest.mark.benchmark(group=GROUP)
def test_buffer_write_per_cycle_synchronous_normal_baseline(benchmark, tmp_path: Path) -> None:
    run(benchmark, tmp_path, per_cycle, "NORMAL")
