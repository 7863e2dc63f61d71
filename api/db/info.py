"""What ``meterbill db info`` reports: server, storage path, migration level, row counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from api.db.migrate import applied_versions, available_migrations

COUNTED_TABLES = ("properties", "buildings", "units", "tenants", "occupancies", "meters",
                  "readings")
# Counted when their migration (0003, the readings store) has run.
STORE_TABLES = ("readings_hourly", "readings_daily", "readings_monthly", "consumption_flags",
                "consumption_figures")


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    server_version: str
    timescaledb_available: bool
    storage: str | None
    migration_level: int
    migrations_pending: int
    row_counts: dict[str, int] = field(default_factory=dict)
    # rollup -> end of its last complete bucket materialized (ISO 8601), from 0003 on
    rollups_refreshed_to: dict[str, str] = field(default_factory=dict)


def database_info(dsn: str) -> DatabaseInfo:
    with psycopg.connect(dsn, autocommit=True) as conn:
        version_row = conn.execute("SHOW server_version").fetchone()
        server_version = str(version_row[0]) if version_row else "?"
        ts_row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
        ).fetchone()
        applied = applied_versions(conn)
        storage = None
        counts: dict[str, int] = {}
        rollups: dict[str, str] = {}
        if applied:
            row = conn.execute("SELECT kind FROM meterbill_storage").fetchone()
            storage = str(row[0]) if row else None
            for table in COUNTED_TABLES:
                count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                counts[table] = int(count[0]) if count else 0
            for table in STORE_TABLES:
                exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
                if exists and exists[0]:
                    count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                    counts[table] = int(count[0]) if count else 0
            if conn.execute("SELECT to_regclass('meterbill_rollup_state')").fetchone() != (None,):
                rollups = {str(r[0]): r[1].isoformat() if r[1] else "never" for r in conn.execute(
                    "SELECT rollup, CASE WHEN isfinite(refreshed_to) THEN refreshed_to END"
                    " FROM meterbill_rollup_state ORDER BY level")}
    pending = [m for m in available_migrations() if m.version not in applied]
    return DatabaseInfo(
        server_version=server_version,
        timescaledb_available=bool(ts_row and ts_row[0]),
        storage=storage,
        migration_level=max(applied, default=0),
        migrations_pending=len(pending),
        row_counts=counts,
        rollups_refreshed_to=rollups,
    )
