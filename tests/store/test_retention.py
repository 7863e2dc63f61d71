"""Retention: configurable per relation; raw readings go whole months at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.errors import InvalidRequestError
from api.store import (
    apply_retention,
    refresh_rollups,
    retention_settings,
    set_retention,
    storage_kind,
)
from tests.store.building import add_meter, add_readings, make_building


def _partitions_for_the_test_years(conn: psycopg.Connection) -> None:
    """Monthly partitions for the fixed dates below, whenever the test runs (native path)."""
    conn.execute("SELECT meterbill_ensure_reading_partitions('2024-01-01+00', '2026-08-01+00')")


def test_retention_drops_old_months_and_trims_rollups_only_as_configured(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "E1", units[0])
    _partitions_for_the_test_years(store_conn)
    add_readings(store_conn, meter, [("2024-01-10 00:00+00", "1"), ("2025-06-30 23:00+00", "2"),
                                  ("2025-07-20 00:00+00", "3"), ("2026-06-01 00:00+00", "4")])
    refresh_rollups(store_conn, up_to=datetime(2026, 7, 1, tzinfo=UTC))
    # Two years: a TimescaleDB policy job that runs now, whenever now is after these
    # dates' era, removes nothing more than the explicit apply below does.
    set_retention(store_conn, "readings", timedelta(days=730))
    set_retention(store_conn, "readings_daily", timedelta(days=180))
    assert retention_settings(store_conn)["readings"] == timedelta(days=730)
    applied = apply_retention(store_conn, datetime(2026, 7, 15, tzinfo=UTC))
    results = {r.relation: r for r in applied}
    # cut-off 2024-07-15 (730 days, no 29 February between): January 2024 lies before it
    assert results["readings"].cutoff == datetime(2024, 7, 15, tzinfo=UTC)
    left = [r[0] for r in store_conn.execute(
        "SELECT read_at::date::text FROM readings ORDER BY 1").fetchall()]
    daily = [r[0] for r in store_conn.execute(
        "SELECT bucket::date::text FROM readings_daily ORDER BY 1").fetchall()]
    if storage_kind(store_conn) == "native":
        assert left == ["2025-06-30", "2025-07-20", "2026-06-01"]
        assert daily == ["2026-06-01"]
    else:  # TimescaleDB chunks are about a month (raw) and ten (rollups), not calendar months
        assert left == ["2025-06-30", "2025-07-20", "2026-06-01"]
        assert "2024-01-10" not in daily and daily[-1] == "2026-06-01"
    # hourly keeps 3 years by default, monthly for ever: the old months stay charted
    monthly = store_conn.execute("SELECT count(*) FROM readings_monthly").fetchone()
    assert monthly == (4,)
    assert "readings_monthly" not in results


def test_refresh_after_retention_keeps_rollups_of_dropped_months(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "E1", units[0])
    _partitions_for_the_test_years(store_conn)
    add_readings(store_conn, meter, [("2024-03-10 00:00+00", "1"), ("2026-06-01 00:00+00", "4")])
    refresh_rollups(store_conn, up_to=datetime(2026, 6, 2, tzinfo=UTC))
    set_retention(store_conn, "readings", timedelta(days=730))
    apply_retention(store_conn, datetime(2026, 6, 2, tzinfo=UTC))
    # a late reading into a dropped month must not rebuild that month from what is left
    add_readings(store_conn, meter, [("2024-03-11 00:00+00", "1.5")])
    refresh_rollups(store_conn, up_to=datetime(2026, 6, 3, tzinfo=UTC))
    row = store_conn.execute("SELECT readings, last_value FROM readings_monthly"
                          " WHERE bucket = '2024-03-01 00:00+00'").fetchone()
    assert row is not None and row[0] == 1 and row[1] == 1


def test_retention_settings_are_checked(store_conn: psycopg.Connection) -> None:
    with pytest.raises(InvalidRequestError, match="unknown relation meters"):
        set_retention(store_conn, "meters", timedelta(days=400))
    with pytest.raises(InvalidRequestError, match="must be at least 4 months"):
        set_retention(store_conn, "readings", timedelta(days=30))
    set_retention(store_conn, "readings_hourly", None)
    assert retention_settings(store_conn)["readings_hourly"] is None
