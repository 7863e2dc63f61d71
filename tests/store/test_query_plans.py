"""The hot queries' plans: a unit's consumption in a period touches a few months only.

EXPLAIN is run on the very SQL texts the store executes, with the parameters
bound as in production.  On the native path the plan names monthly
partitions (``readings_yYYYYmMM``), on TimescaleDB chunks of about a month;
``raw_partitions`` lists them, so rollup chunks are not mistaken for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.store import refresh_rollups, storage_kind
from api.store.raw_partitions import partitions_in_plan, raw_partitions
from api.store.unit_consumption import (
    EDGE_AFTER_SQL,
    EDGE_BEFORE_SQL,
    EDGE_WINDOW,
    INNER_POINTS_SQL,
    MONTHLY_BY_UNIT_SQL,
    PERIOD_READINGS_SQL,
)
from tests.db_fixtures import create_database, drop_database, unique_name
from tests.store.building import add_meter, make_building


def plan(conn: psycopg.Connection, sql: str, params: tuple) -> str:
    rows = conn.execute("EXPLAIN " + sql, params).fetchall()
    return "\n".join(str(r[0]) for r in rows)


def scanned(text: str, conn: psycopg.Connection) -> set[str]:
    return partitions_in_plan(text, raw_partitions(conn))


@pytest.fixture(scope="module")
def year_db(migrated_template: str) -> Iterator[tuple[psycopg.Connection, int]]:
    """One database for the module (plans only read): a meter with a year of readings."""
    name = unique_name("mbplans")
    dsn = create_database(name, template=migrated_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        b, units = make_building(conn)
        meter = add_meter(conn, b, "E1", units[0])
        # monthly partitions for 2025 whenever the test runs (a no-op on TimescaleDB)
        conn.execute("SELECT meterbill_ensure_reading_partitions('2025-01-01+00', '2026-01-01+00')")
        conn.execute(
            """INSERT INTO readings (meter_id, register, read_at, value)
               SELECT %s, 'energy_import_kwh', t,
                      extract(epoch FROM t - '2025-01-01 00:00+00') / 3600
                 FROM generate_series('2025-01-01 00:00+00'::timestamptz,
                                      '2025-12-31 23:00+00', INTERVAL '6 hours') t""", (meter,))
        conn.execute("ANALYZE readings")
        refresh_rollups(conn, up_to=datetime(2026, 1, 1, tzinfo=UTC))
        yield conn, meter
    drop_database(name)


def test_edge_reading_queries_prune_to_the_months_around_the_edge(
        year_db: tuple[psycopg.Connection, int]) -> None:
    db_conn, meter = year_db
    assert len(raw_partitions(db_conn)) >= 12
    edge = datetime(2025, 7, 1, tzinfo=UTC)
    before = plan(db_conn, EDGE_BEFORE_SQL, (meter, "energy_import_kwh", edge,
                                             edge - EDGE_WINDOW))
    after = plan(db_conn, EDGE_AFTER_SQL, (meter, "energy_import_kwh", edge,
                                           edge + EDGE_WINDOW))
    # 31 days back from 1 July 00:00 (inclusive) reach May, June and July's first instant;
    # forward, July and August.  Of the year's partitions, nothing else.
    assert 1 <= len(scanned(before, db_conn)) <= 3, before
    assert 1 <= len(scanned(after, db_conn)) <= 3, after
    if storage_kind(db_conn) == "native":
        assert scanned(before, db_conn) <= {"readings_y2025m05", "readings_y2025m06",
                                            "readings_y2025m07"}
        assert scanned(after, db_conn) <= {"readings_y2025m07", "readings_y2025m08"}


def test_period_readings_for_validation_touch_only_the_periods_months(
        year_db: tuple[psycopg.Connection, int]) -> None:
    db_conn, meter = year_db
    text = plan(db_conn, PERIOD_READINGS_SQL, (meter, "energy_import_kwh",
                                               datetime(2025, 3, 1, tzinfo=UTC),
                                               datetime(2025, 5, 1, tzinfo=UTC)))
    assert 1 <= len(scanned(text, db_conn)) <= 3, text
    if storage_kind(db_conn) == "native":
        assert scanned(text, db_conn) == {"readings_y2025m03", "readings_y2025m04"}


def test_inner_points_and_monthly_figures_read_rollups_not_raw_readings(
        year_db: tuple[psycopg.Connection, int]) -> None:
    db_conn, meter = year_db
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    inner = plan(db_conn, INNER_POINTS_SQL, (meter, "energy_import_kwh", start, end, start,
                                             end))
    monthly = plan(db_conn, MONTHLY_BY_UNIT_SQL, (start, end))
    for text in (inner, monthly):
        assert scanned(text, db_conn) == set(), text
        assert any(name in text for name in ("readings_daily", "readings_monthly",
                                             "_materialized_hypertable")), text
    assert "readings_monthly" in monthly or "_materialized_hypertable" in monthly
    # the monthly figures add up to the year's use: 1 kWh an hour, last reading 18:00 Dec 31
    rows = db_conn.execute(MONTHLY_BY_UNIT_SQL, (start, end)).fetchall()
    assert len(rows) == 12
    assert sum(r[4] for r in rows) == (end - start - timedelta(hours=6)) / timedelta(hours=1)
