"""Rollups equal the raw aggregates, after a first refresh and after late data."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from api.store import refresh_rollups, rollup_state, storage_kind
from tests.store.building import add_meter, make_building

RAW_AGGREGATE = """
SELECT meter_id, register, date_trunc(%(width)s, read_at, 'UTC') AS bucket,
       min(read_at), (array_agg(value ORDER BY read_at))[1],
       max(read_at), (array_agg(value ORDER BY read_at DESC))[1],
       min(value), max(value), count(*)
  FROM readings WHERE read_at < date_trunc(%(width)s, %(up_to)s::timestamptz, 'UTC')
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""

ROLLUP = """
SELECT meter_id, register, bucket, first_at, first_value, last_at, last_value,
       min_value, max_value, readings FROM {name} ORDER BY 1, 2, 3"""

LEVELS = {"readings_hourly": "hour", "readings_daily": "day", "readings_monthly": "month"}


def _load(conn: psycopg.Connection, meter_ids: list[int], start: str, end: str) -> None:
    # Irregular but deterministic values: 7-minute steps, a value that goes up and down.
    conn.execute(
        """INSERT INTO readings (meter_id, register, read_at, value)
           SELECT m, 'energy_import_kwh', t,
                  round((extract(epoch FROM t) / 3600 + m * 7 + (extract(minute FROM t)::int %% 5))
                        ::numeric, 3)
             FROM unnest(%s::bigint[]) m,
                  generate_series(%s::timestamptz, %s::timestamptz, INTERVAL '7 minutes') t
           ON CONFLICT DO NOTHING""", (meter_ids, start, end))


def _assert_rollups_equal_raw(conn: psycopg.Connection, up_to: datetime) -> None:
    for name, width in LEVELS.items():
        raw = conn.execute(RAW_AGGREGATE, {"width": width, "up_to": up_to}).fetchall()
        rolled = conn.execute(ROLLUP.format(name=name)).fetchall()
        assert len(rolled) == len(raw), name
        assert rolled == raw, name


def test_refresh_equals_raw_aggregates_then_late_data_is_recomputed(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meters = [add_meter(store_conn, b, f"E{i}", units[i]) for i in range(2)]
    _load(store_conn, meters, "2026-01-30 20:00+00", "2026-02-02 03:00+00")
    first = datetime(2026, 2, 1, 12, 30, tzinfo=UTC)
    done = refresh_rollups(store_conn, up_to=first)
    assert [r.rollup for r in done] == list(LEVELS)
    _assert_rollups_equal_raw(store_conn, first)
    # Late readings before the watermark and new ones after it.
    store_conn.execute("""INSERT INTO readings (meter_id, register, read_at, value) VALUES
                       (%s, 'energy_import_kwh', '2026-01-31 10:03+00', 99999),
                       (%s, 'energy_import_kwh', '2026-01-30 19:59+00', -5)""",
                    (meters[0], meters[1]))
    second = datetime(2026, 2, 3, tzinfo=UTC)
    refresh_rollups(store_conn, up_to=second)
    _assert_rollups_equal_raw(store_conn, second)
    # complete buckets only: the month of 3 February is not over
    assert [s[1] for s in rollup_state(store_conn)] == [second, second,
                                                        datetime(2026, 2, 1, tzinfo=UTC)]
    if storage_kind(store_conn) == "native":
        left = store_conn.execute("SELECT count(*) FROM meterbill_rollup_invalidations").fetchone()
        assert left == (0,)


def test_refresh_with_nothing_new_changes_nothing(store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    meter = add_meter(store_conn, b, "E1", units[0])
    _load(store_conn, [meter], "2026-03-01 00:00+00", "2026-03-03 00:00+00")
    up_to = datetime(2026, 3, 4, tzinfo=UTC)
    refresh_rollups(store_conn, up_to=up_to)
    before = store_conn.execute(ROLLUP.format(name="readings_daily")).fetchall()
    refresh_rollups(store_conn, up_to=up_to)
    assert store_conn.execute(ROLLUP.format(name="readings_daily")).fetchall() == before
    assert len(before) == 2  # 7-minute steps end at 2 March 23:57


def test_daily_views_chart_consumption_per_meter_unit_and_building(
        store_conn: psycopg.Connection) -> None:
    b, units = make_building(store_conn)
    e1 = add_meter(store_conn, b, "E1", units[0])
    e2 = add_meter(store_conn, b, "E2", units[1])
    for meter, per_hour in ((e1, 1), (e2, 2)):
        store_conn.execute(
            """INSERT INTO readings (meter_id, register, read_at, value)
               SELECT %s, 'energy_import_kwh', t,
                      %s * extract(epoch FROM t - '2026-04-01 00:00+00') / 3600
                 FROM generate_series('2026-04-01 00:00+00'::timestamptz,
                                      '2026-04-03 23:00+00', INTERVAL '1 hour') t""",
            (meter, per_hour))
    refresh_rollups(store_conn, up_to=datetime(2026, 4, 5, tzinfo=UTC))
    unit_rows = store_conn.execute(
        "SELECT unit_code, day::date::text, consumption FROM unit_daily_consumption"
        " ORDER BY unit_code, day").fetchall()
    # Day 1: last (23 h) minus first (0 h); later days: last minus the day before's last.
    assert [(u, d, int(c)) for u, d, c in unit_rows] == [
        ("U1", "2026-04-01", 23), ("U1", "2026-04-02", 24), ("U1", "2026-04-03", 24),
        ("U2", "2026-04-01", 46), ("U2", "2026-04-02", 48), ("U2", "2026-04-03", 48)]
    building = store_conn.execute(
        "SELECT day::date::text, medium, consumption FROM building_daily_consumption"
        " ORDER BY day").fetchall()
    assert [(d, m, int(c)) for d, m, c in building] == [
        ("2026-04-01", "electricity", 69), ("2026-04-02", "electricity", 72),
        ("2026-04-03", "electricity", 72)]
    medium = store_conn.execute("SELECT sum(consumption) FROM medium_daily_consumption").fetchone()
    assert medium is not None and int(medium[0]) == 213
