"""Versioned plain-SQL migrations, applied in order, each inside its own transaction.

Files are ``api/db/migrations/NNNN_name.sql``; the applied ones are recorded in
``schema_migrations`` with their checksum.  A session-level advisory lock makes
two processes that start at once take turns: the second waits, then finds
nothing left to do.  An applied file whose checksum changed is refused: a
migration that ran in production is history and is never edited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import psycopg

from api.errors import DatabaseSetupError

# Arbitrary but fixed: the advisory lock key all meterbill processes agree on.
MIGRATION_LOCK_KEY = 0x6D65_7465_7262  # "meterb"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """The migration files shipped with the package, ordered by version."""
    found: list[Migration] = []
    folder = resources.files("api.db") / "migrations"
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        prefix, _, rest = name.partition("_")
        if not prefix.isdigit():
            raise DatabaseSetupError(f"migration file {name}: name must start with NNNN_")
        found.append(Migration(int(prefix), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise DatabaseSetupError(f"two migration files share a version: {versions}")
    return found


def _ensure_table(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version     integer PRIMARY KEY,
               name        text NOT NULL,
               checksum    text NOT NULL,
               applied_at  timestamptz NOT NULL DEFAULT now())"""
    )


def applied_versions(conn: psycopg.Connection) -> dict[int, str]:
    """Version -> checksum of every applied migration (empty on a new database)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(v): str(c) for v, c in rows}


def migrate(dsn: str) -> list[Migration]:
    """Apply every pending migration; returns those applied now (empty = up to date)."""
    applied_now: list[Migration] = []
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise DatabaseSetupError(f"cannot connect to the database: {exc}".strip()) from exc
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            _ensure_table(conn)
            done = applied_versions(conn)
            for migration in available_migrations():
                if migration.version in done:
                    if done[migration.version] != migration.checksum:
                        raise DatabaseSetupError(
                            f"migration {migration.version:04d}_{migration.name} was changed after "
                            "it was applied; add a new migration instead of editing it"
                        )
                    continue
                try:
                    with conn.transaction():
                        conn.execute(migration.sql)
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, checksum) "
                            "VALUES (%s, %s, %s)",
                            (migration.version, migration.name, migration.checksum),
                        )
                except psycopg.Error as exc:
                    raise DatabaseSetupError(
                        f"migration {migration.version:04d}_{migration.name} failed: "
                        f"{exc.diag.message_primary or exc}"
                    ) from exc
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return applied_now
