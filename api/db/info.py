"""What ``meterbill db info`` reports: server, storage path, migration level, row counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from api.db.migrate import applied_versions, available_migrations

COUNTED_TABLES = ("properties", "buildings", "units", "tenants", "occupancies", "meters", "readings")


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    server_version: str
    timescaledb_available: bool
    storage: str | None
    migration_level: int
    migrations_pending: int
    row_counts: dict[str, int] = field(default_factory=dict)


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
        if applied:
            row = conn.execute("SELECT kind FROM meterbill_storage").fetchone()
            storage = str(row[0]) if row else None
            for table in COUNTED_TABLES:
                count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                counts[table] = int(count[0]) if count else 0
    pending = [m for m in available_migrations() if m.version not in applied]
    return DatabaseInfo(
        server_version=server_version,
        timescaledb_available=bool(ts_row and ts_row[0]),
        storage=storage,
        migration_level=max(applied, default=0),
        migrations_pending=len(pending),
        row_counts=counts,
    )
