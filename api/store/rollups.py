"""Refreshing the hourly, daily and monthly rollups on either storage path.

Both paths materialize complete buckets only: a refresh up to 12:30 adds the
hours up to 12:00, the days up to midnight, the months up to the 1st.

* native: ``meterbill_refresh_rollups(up_to)`` (SQL, in the migration)
  recomputes from each rollup's watermark and the late-data log;
* TimescaleDB: ``CALL refresh_continuous_aggregate(name, since, up_to)`` for
  each level in order (hourly, daily, monthly).  TimescaleDB refuses that
  call inside a transaction, so the connection must be in autocommit mode.
  The policies added by the migration do this on a schedule; this function
  is for "now" (after a bulk import, before a billing run).

The watermark table ``meterbill_rollup_state`` is kept on both paths, so
``rollup_state`` shows when each level was last refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from api.errors import DatabaseSetupError

ROLLUPS = ("readings_hourly", "readings_daily", "readings_monthly")


@dataclass(frozen=True, slots=True)
class RollupRefresh:
    rollup: str
    buckets: int | None  # None on TimescaleDB, which does not report it
    refreshed_to: datetime  # end of the last complete bucket materialized


def storage_kind(conn: psycopg.Connection) -> str:
    """'timescaledb' or 'native' (``meterbill_storage``, set by migration 0002)."""
    row = conn.execute("SELECT kind FROM meterbill_storage").fetchone()
    if row is None:
        raise DatabaseSetupError("meterbill_storage is empty: the database is not migrated")
    return str(row[0])


def refresh_rollups(conn: psycopg.Connection, up_to: datetime | None = None,
                    since: datetime | None = None) -> list[RollupRefresh]:
    """Bring every rollup up to ``up_to`` (default: now).

    ``since`` only matters on TimescaleDB (the start of the window to
    re-aggregate; default: from the beginning); the native path knows what
    changed from its watermark and late-data log.
    """
    if up_to is None:
        row = conn.execute("SELECT now()").fetchone()
        assert row is not None
        up_to = row[0]
    if storage_kind(conn) == "native":
        rows = conn.execute("SELECT rollup, buckets, refreshed_to"
                            " FROM meterbill_refresh_rollups(%s)", (up_to,)).fetchall()
        return [RollupRefresh(str(r[0]), int(r[1]), r[2]) for r in rows]
    if not conn.autocommit:
        raise DatabaseSetupError("refreshing TimescaleDB continuous aggregates needs an "
                                 "autocommit connection (it cannot run in a transaction)")
    # Never re-aggregate a window whose raw chunks retention may have dropped:
    # TimescaleDB would empty those buckets (the native path clamps the same way).
    keep_row = conn.execute("SELECT keep FROM meterbill_retention WHERE relation = 'readings'"
                            ).fetchone()
    if keep_row is not None and keep_row[0] is not None:
        floor = up_to - keep_row[0]
        since = floor if since is None or since < floor else since
    done = []
    for name in ROLLUPS:
        # CALL with literals, as TimescaleDB documents it: its window arguments are
        # of type "any", and a bound NULL parameter would arrive without a type.
        conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, {}, {})").format(
            sql.Literal(name), sql.Literal(since), sql.Literal(up_to)))
        row = conn.execute(
            """UPDATE meterbill_rollup_state
                  SET refreshed_to = greatest(refreshed_to,
                                              date_trunc(bucket_width, %s::timestamptz, 'UTC')),
                      refreshed_at = now()
                WHERE rollup = %s RETURNING refreshed_to""", (up_to, name)).fetchone()
        assert row is not None
        done.append(RollupRefresh(name, None, row[0]))
    return done


def rollup_state(conn: psycopg.Connection
                 ) -> list[tuple[str, datetime | None, datetime | None]]:
    """(rollup, refreshed up to, refreshed when) per level; None: never refreshed."""
    rows = conn.execute(
        "SELECT rollup, CASE WHEN isfinite(refreshed_to) THEN refreshed_to END, refreshed_at"
        " FROM meterbill_rollup_state ORDER BY level").fetchall()
    return [(str(r[0]), r[1], r[2]) for r in rows]
