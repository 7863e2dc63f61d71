"""Readings into PostgreSQL: the COPY write contract against row-by-row executemany.

Both sides store the same readings idempotently (ON CONFLICT DO NOTHING); the
COPY side is the production path (``gateway.readings_writer``: binary COPY into
a staging table, one INSERT … SELECT).  Each round starts from an empty table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from gateway.reading import Reading
from gateway.readings_writer import write_readings
from tests.db_fixtures import create_database, drop_database, migrated_template, unique_name

__all__ = ["migrated_template"]

ROWS = 20_000
METERS = 50
GROUP = f"ingest-copy-vs-executemany-{ROWS // 1000}k"


@pytest.fixture(scope="module")
def bench_dsn(migrated_template: str) -> Iterator[str]:
    name = unique_name("mbbench")
    dsn = create_database(name, template=migrated_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO properties (code, name) VALUES ('P', 'bench')")
        conn.execute("INSERT INTO buildings (property_id, code, name) VALUES (1, 'B', 'bench')")
        for i in range(METERS):
            conn.execute("INSERT INTO meters (serial, medium, physical_unit, role, building_id) "
                         "VALUES (%s, 'electricity', 'kWh', 'main', 1)", (f"M{i}",))
    yield dsn
    drop_database(name)


def readings() -> list[Reading]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    per_meter = ROWS // METERS
    return [Reading(f"M{m}", "energy_import_kwh", t0 + timedelta(minutes=15 * i),
                    Decimal(1000 + i) / 4)
            for m in range(METERS) for i in range(per_meter)]


def _truncate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE readings")


@pytest.mark.benchmark(group=GROUP)
def test_ingest_copy(benchmark, bench_dsn: str) -> None:
    batch = readings()
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        result = benchmark.pedantic(write_readings, args=(conn, batch),
                                    setup=lambda: _truncate(bench_dsn), rounds=5, iterations=1)
    assert result.inserted == ROWS


@pytest.mark.benchmark(group=GROUP)
def test_ingest_executemany_baseline(benchmark, bench_dsn: str) -> None:
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        ids = dict(conn.execute("SELECT serial, id FROM meters").fetchall())
        rows = [(ids[r.meter_serial], r.register, r.read_at, r.value) for r in readings()]

        def insert() -> int:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO readings (meter_id, register, read_at, value) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)
            count = conn.execute("SELECT count(*) FROM readings").fetchone()
            return int(count[0]) if count else 0

        inserted = benchmark.pedantic(insert, setup=lambda: _truncate(bench_dsn), rounds=5,
                                      iterations=1)
    assert inserted == ROWS
