"""Readings/s into PostgreSQL through the idempotent path, beside a raw COPY of the same rows.

Issue 6 floors: the idempotent path at ≥ 70 % of a raw COPY, and ≥ 100k
readings/s per ingest process.  In group ``ingest-path-100k``:

* ``raw_copy_baseline``: ``COPY readings FROM STDIN (FORMAT BINARY)`` of rows
  whose meter ids were resolved beforehand: the most the database can take,
  with no idempotence at all;
* ``write_new``: ``gateway.readings_writer.write_readings`` of the same
  readings into an empty table (a gateway's normal traffic: its fast path);
* ``write_overlapping``: the same, when one reading is already stored, so the
  batch takes the staging + ``ON CONFLICT DO NOTHING`` path;
* ``write_resent``: the whole batch again (every reading a duplicate);
* ``worker_decode_and_write``: what one ingest process does per batch: decode
  the MQTT payload to columns (``gateway.mqtt_payload.decode_columns``) and
  write them (``write_columns``).

Each entry records ``extra_info["readings_per_s"]`` from its median; the
report prints the ratios to the baseline.  On a shared machine wall time
swings with other people's load, so each entry also records the CPU seconds
the timed call cost this process and its PostgreSQL backend (read from
``/proc``, the server being local) and ``readings_per_cpu_s`` = readings /
(client + server CPU): what one ingest process does with the machine to itself,
if client and server did not overlap at all (a lower bound).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.mqtt_payload import decode_columns, encode_batch
from gateway.reading import Reading
from gateway.readings_writer import write_columns, write_readings
from gateway.uplink import ReadingBatch
from tests.db_fixtures import create_database, drop_database, migrated_template, unique_name

__all__ = ["migrated_template"]

ROWS = 100_000
METERS = 200
GROUP = f"ingest-path-{ROWS // 1000}k"
ROUNDS = 5


@pytest.fixture(scope="module")
def bench_dsn(migrated_template: str) -> Iterator[str]:
    name = unique_name("mbbench")
    dsn = create_database(name, template=migrated_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO properties (code, name) VALUES ('P', 'bench')")
        conn.execute("INSERT INTO buildings (property_id, code, name) VALUES (1, 'B', 'bench')")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO meters (serial, medium, physical_unit, role, building_id) "
                            "VALUES (%s, 'electricity', 'kWh', 'main', 1)",
                            [(f"M{i:04d}",) for i in range(METERS)])
    yield dsn
    drop_database(name)


@pytest.fixture(scope="module")
def batch() -> list[Reading]:
    """100k readings: 200 meters, one 15-minute register for 500 instants (about 5 days)."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    per_meter = ROWS // METERS
    return [Reading(f"M{m:04d}", "energy_import_kwh", t0 + timedelta(minutes=15 * i),
                    Decimal(100_000 + 7 * i + m) / 1000)
            for i in range(per_meter) for m in range(METERS)]


def _count(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def _truncate(dsn: str, then: Callable[[psycopg.Connection], object] | None = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE readings")
        if then is not None:
            then(conn)
        conn.execute("ANALYZE readings")


class CpuMeter:
    """CPU seconds spent by this process and by one PostgreSQL backend across calls."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._stat = Path(f"/proc/{conn.info.backend_pid}/stat")
        self._tick_s = 1 / os.sysconf("SC_CLK_TCK")
        self.client_s = self.server_s = 0.0
        self.calls = 0

    def _server_now(self) -> float:
        try:
            fields = self._stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the server is not local: no figure rather than a wrong one
            return float("nan")
        return (int(fields[11]) + int(fields[12])) * self._tick_s  # utime + stime

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any) -> Any:
            client, server = time.process_time(), self._server_now()
            try:
                return fn(*args)
            finally:
                self.client_s += time.process_time() - client
                self.server_s += self._server_now() - server
                self.calls += 1
        return measured


def _record_rate(benchmark, meter: CpuMeter) -> None:
    info = benchmark.extra_info
    info["readings"] = ROWS
    info["readings_per_s"] = round(ROWS / benchmark.stats.stats.median)
    info["client_cpu_s"] = round(meter.client_s / meter.calls, 3)
    info["server_cpu_s"] = round(meter.server_s / meter.calls, 3)
    info["readings_per_cpu_s"] = round(ROWS * meter.calls / (meter.client_s + meter.server_s))


@pytest.mark.benchmark(group=GROUP)
def test_raw_copy_baseline(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    with psycopg.connect(bench_dsn) as conn:
        ids = dict(conn.execute("SELECT serial, id FROM meters").fetchall())
        rows = [(ids[r.meter_serial], r.register, r.read_at, r.value) for r in batch]
        conn.commit()

        def copy() -> None:
            with conn.transaction(), conn.cursor() as cur, cur.copy(
                "COPY readings (meter_id, register, read_at, value) FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.set_types(["int8", "text", "timestamptz", "numeric"])
                for row in rows:
                    cp.write_row(row)

        conn.autocommit = True
        meter = CpuMeter(conn)
        benchmark.pedantic(meter.wrap(copy), setup=lambda: _truncate(bench_dsn), rounds=ROUNDS,
                           iterations=1)
    _record_rate(benchmark, meter)
    assert _count(bench_dsn) == ROWS


@pytest.mark.benchmark(group=GROUP)
def test_write_new(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        meter = CpuMeter(conn)
        result = benchmark.pedantic(meter.wrap(write_readings), args=(conn, batch),
                                    setup=lambda: _truncate(bench_dsn), rounds=ROUNDS,
                                    iterations=1)
    _record_rate(benchmark, meter)
    assert (result.inserted, result.duplicates) == (ROWS, 0)
    assert _count(bench_dsn) == ROWS


@pytest.mark.benchmark(group=GROUP)
def test_write_overlapping(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    def one_stored() -> None:
        _truncate(bench_dsn, lambda conn: write_readings(conn, batch[-1:]))

    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        meter = CpuMeter(conn)
        result = benchmark.pedantic(meter.wrap(write_readings), args=(conn, batch),
                                    setup=one_stored, rounds=ROUNDS, iterations=1)
    _record_rate(benchmark, meter)
    assert (result.inserted, result.duplicates) == (ROWS - 1, 1)
    assert _count(bench_dsn) == ROWS


@pytest.mark.benchmark(group=GROUP)
def test_write_resent(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    _truncate(bench_dsn)
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        write_readings(conn, batch)
        meter = CpuMeter(conn)
        result = benchmark.pedantic(meter.wrap(write_readings), args=(conn, batch),
                                    rounds=ROUNDS, iterations=1)
    _record_rate(benchmark, meter)
    assert (result.inserted, result.duplicates) == (0, ROWS)
    assert _count(bench_dsn) == ROWS


@pytest.mark.benchmark(group=GROUP)
def test_worker_decode_and_write(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    payload = encode_batch(ReadingBatch("gw-bench", "1-100000", tuple(batch)))

    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        def ingest() -> int:
            return write_columns(conn, decode_columns(payload).columns).inserted

        meter = CpuMeter(conn)
        inserted = benchmark.pedantic(meter.wrap(ingest), setup=lambda: _truncate(bench_dsn),
                                      rounds=ROUNDS, iterations=1)
    _record_rate(benchmark, meter)
    benchmark.extra_info["payload_bytes"] = len(payload)
    assert inserted == ROWS
    assert _count(bench_dsn) == ROWS


SMALL = 1_000
SMALL_GROUP = f"ingest-path-{ROWS // 1000}k-in-{SMALL // 1000}k-batches"


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


@pytest.mark.benchmark(group=SMALL_GROUP)
def test_raw_copy_small_batches_baseline(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    """One transaction per 1k rows: a gateway's batches are small, so per-batch cost counts."""
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        ids = dict(conn.execute("SELECT serial, id FROM meters").fetchall())
        chunks = _chunks([(ids[r.meter_serial], r.register, r.read_at, r.value) for r in batch],
                         SMALL)

        def copy_all() -> None:
            for rows in chunks:
                with conn.transaction(), conn.cursor() as cur, cur.copy(
                    "COPY readings (meter_id, register, read_at, value) FROM STDIN "
                    "(FORMAT BINARY)"
                ) as cp:
                    cp.set_types(["int8", "text", "timestamptz", "numeric"])
                    for row in rows:
                        cp.write_row(row)

        meter = CpuMeter(conn)
        benchmark.pedantic(meter.wrap(copy_all), setup=lambda: _truncate(bench_dsn),
                           rounds=ROUNDS, iterations=1)
    _record_rate(benchmark, meter)
    assert _count(bench_dsn) == ROWS


@pytest.mark.benchmark(group=SMALL_GROUP)
def test_write_new_small_batches(benchmark, bench_dsn: str, batch: list[Reading]) -> None:
    chunks = _chunks(batch, SMALL)
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        def write_all() -> int:
            return sum(write_readings(conn, rows).inserted for rows in chunks)

        meter = CpuMeter(conn)
        inserted = benchmark.pedantic(meter.wrap(write_all), setup=lambda: _truncate(bench_dsn),
                                      rounds=ROUNDS, iterations=1)
    _record_rate(benchmark, meter)
    assert inserted == ROWS
    assert _count(bench_dsn) == ROWS
