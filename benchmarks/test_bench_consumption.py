"""Per-unit monthly consumption for a whole building set: SQL over rollups vs raw rows in Python.

The issue's workload is 1,000 meters × one year of 15-minute readings (35M
rows).  ``METERBILL_BENCH_METERS`` sets the number of meters (default 40, 1.4M
rows, which loads in well under two minutes on a shared 2-core machine);
``METERBILL_BENCH_METERS=1000`` is the full size.  One meter per unit, 25
units per building.

Both paths give the same figures (asserted, in the baseline test) with the same rule: a month's use
is its last reading minus the previous month's last reading (the first
month: last minus first).

* ``sql_rollups``: ``api.store.monthly_consumption_by_unit`` — the
  ``unit_monthly_consumption`` view over ``readings_monthly`` (12 rows per
  meter); its plan is checked to read no raw partition.
* ``python_raw_baseline``: every raw reading of the year fetched and folded
  per meter and month in Python.

Loading (INSERT … SELECT from ``generate_series``, server side: the
fastest way to put synthetic rows in) and the rollup refresh are timed once
and kept in ``extra_info`` (``load_s``, ``refresh_s``, ``rows``); they are
not part of the compared group.

Measured on the shared 2-core machine (medians; Python baseline / SQL):

=========  =========  ==========  =========  ==========  =======  =========
meters     rows       SQL         Python     ratio       load     refresh
=========  =========  ==========  =========  ==========  =======  =========
40         1.4M       17.6 ms     25.8 s     1,470x      55 s     36 s
100        3.5M       51.6 ms     92.3 s     1,790x      171 s    83 s
200        7.0M       30.2 ms     128.1 s    4,245x      238 s    97 s
=========  =========  ==========  =========  ==========  =======  =========

Scaled linearly to the issue's 1,000 meters (35M rows): Python about 640 s,
SQL about 0.15-0.5 s, loading 20-29 min, the first full refresh 8-15 min
(later refreshes touch only new buckets).  The full size was not run here.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from api.store import monthly_consumption_by_unit, refresh_rollups
from api.store.raw_partitions import partitions_in_plan, raw_partitions
from api.store.unit_consumption import MONTHLY_BY_UNIT_SQL
from tests.db_fixtures import create_database, drop_database, migrated_template, unique_name

__all__ = ["migrated_template"]

METERS = int(os.environ.get("METERBILL_BENCH_METERS", "40"))
READINGS_PER_METER = 365 * 96
ROWS = METERS * READINGS_PER_METER
UNITS_PER_BUILDING = 25
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
GROUP = f"unit-monthly-consumption-{METERS}-meters-1y-15min"
FULL_METERS = 1000  # the size, for the linear extrapolation kept in extra_info
# Loading and refreshing a large set takes minutes: the suite-wide 300 s limit is for tests.
pytestmark = pytest.mark.timeout(0)


@dataclass
class Store:
    conn: psycopg.Connection
    load_s: float
    refresh_s: float


@pytest.fixture(scope="module")
def store(migrated_template: str) -> Iterator[Store]:
    name = unique_name("mbbench_cons")
    dsn = create_database(name, template=migrated_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        prop = conn.execute("INSERT INTO properties (code, name) VALUES ('P', 'bench')"
                            " RETURNING id").fetchone()
        assert prop is not None
        conn.execute(
            """WITH b AS (
                 INSERT INTO buildings (property_id, code, name)
                 SELECT %s, 'B' || i, 'bench ' || i FROM generate_series(1, %s) i
                 RETURNING id, code),
               u AS (
                 INSERT INTO units (building_id, code, living_area_m2, heated_area_m2)
                 SELECT b.id, b.code || '-U' || j, 60, 60
                   FROM b, generate_series(1, %s) j RETURNING id, building_id, code)
               INSERT INTO meters (serial, medium, physical_unit, role, building_id, unit_id)
               SELECT 'E-' || u.code, 'electricity', 'kWh', 'sub', u.building_id, u.id
                 FROM u ORDER BY u.id LIMIT %s""",
            (prop[0], -(-METERS // UNITS_PER_BUILDING), UNITS_PER_BUILDING, METERS))
        started = time.perf_counter()
        # Each meter draws its own steady load (0.05-0.35 kWh a quarter hour) with a
        # daily swing; values are cumulative kWh with three decimals, as meters report.
        conn.execute(
            """INSERT INTO readings (meter_id, register, read_at, value)
               SELECT m.id, 'energy_import_kwh', %s::timestamptz + i * INTERVAL '15 minutes',
                      round((1000 * m.id + i * (0.05 + (m.id %% 7) * 0.05)
                             + 0.03 * sin(i / 96.0 * 2 * pi()))::numeric, 3)
                 FROM meters m, generate_series(0, %s - 1) i""",
            (START, READINGS_PER_METER))
        load_s = time.perf_counter() - started
        conn.execute("ANALYZE readings")
        started = time.perf_counter()
        refresh_rollups(conn, up_to=END)
        refresh_s = time.perf_counter() - started
        conn.execute("ANALYZE readings_monthly")
        yield Store(conn, load_s, refresh_s)
    drop_database(name)


def python_from_raw(conn: psycopg.Connection) -> dict[tuple[int, datetime], Decimal]:
    """Every raw reading of the year into Python, folded per meter and month."""
    first: dict[tuple[int, int], Decimal] = {}
    last: dict[tuple[int, int], Decimal] = {}
    unit_of: dict[int, int] = {}
    # A server-side cursor (it lives in a transaction): rows stream in batches.
    with conn.transaction(), conn.cursor(name="raw") as cur:
        cur.itersize = 50_000
        cur.execute(
            """SELECT r.meter_id, m.unit_id, r.read_at, r.value
                 FROM readings r JOIN meters m ON m.id = r.meter_id
                WHERE r.register = 'energy_import_kwh' AND r.read_at >= %s AND r.read_at < %s
                  AND m.role = 'sub'
                ORDER BY r.meter_id, r.read_at""", (START, END))
        for meter_id, unit_id, read_at, value in cur:
            key = (meter_id, read_at.month)
            if key not in first:
                first[key] = value
                unit_of[meter_id] = unit_id
            last[key] = value
    out: dict[tuple[int, datetime], Decimal] = defaultdict(Decimal)
    for (meter_id, month), value in last.items():
        previous = last.get((meter_id, month - 1), first[(meter_id, month)])
        out[(unit_of[meter_id], datetime(2025, month, 1, tzinfo=UTC))] += value - previous
    return dict(out)


def sql_from_rollups(conn: psycopg.Connection) -> dict[tuple[int, datetime], Decimal]:
    rows = monthly_consumption_by_unit(conn, START, END)
    return {(unit_id, month): used for unit_id, month, _, _, used in rows if used is not None}


def _describe(benchmark, store: Store) -> None:  # type: ignore[no-untyped-def]
    """Sizes and one-off timings; the median scaled linearly to 1,000 meters, marked as such.

    Both paths grow linearly with the meters: the Python path with the raw rows
    (35,040 a meter), the SQL path with the monthly rollup rows (12 a meter).
    """
    median_s = benchmark.stats.stats.median
    benchmark.extra_info.update({
        "meters": METERS, "rows": ROWS, "load_s": round(store.load_s, 3),
        "refresh_s": round(store.refresh_s, 3),
        "rows_per_s_load": round(ROWS / store.load_s),
        "median_extrapolated_to_1000_meters_s": round(median_s * FULL_METERS / METERS, 3),
        "load_extrapolated_to_1000_meters_s": round(store.load_s * FULL_METERS / METERS),
        "refresh_extrapolated_to_1000_meters_s": round(store.refresh_s * FULL_METERS / METERS)})


@pytest.mark.benchmark(group=GROUP)
def test_unit_monthly_sql_rollups(benchmark, store: Store) -> None:  # type: ignore[no-untyped-def]
    plan = "\n".join(str(r[0]) for r in store.conn.execute(
        "EXPLAIN " + MONTHLY_BY_UNIT_SQL, (START, END)).fetchall())
    assert "readings_monthly" in plan or "_materialized_hypertable" in plan, plan
    assert partitions_in_plan(plan, raw_partitions(store.conn)) == set(), plan
    result = benchmark.pedantic(sql_from_rollups, args=(store.conn,), rounds=5, iterations=1)
    _describe(benchmark, store)
    assert len(result) == METERS * 12


@pytest.mark.benchmark(group=GROUP)
def test_unit_monthly_python_raw_baseline(benchmark, store: Store) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(python_from_raw, args=(store.conn,), rounds=2, iterations=1)
    _describe(benchmark, store)
    assert len(result) == METERS * 12
    # the same figures as the SQL path, to the last digit
    assert result == sql_from_rollups(store.conn)
