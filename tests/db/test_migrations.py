from __future__ import annotations

import threading

import psycopg

from api.db.info import database_info
from api.db.migrate import available_migrations, migrate


def test_migrations_apply_from_zero_and_rerun_is_a_noop(empty_db_dsn: str) -> None:
    applied = migrate(empty_db_dsn)
    assert [m.version for m in applied] == [m.version for m in available_migrations()]
    assert migrate(empty_db_dsn) == []
    info = database_info(empty_db_dsn)
    assert info.migration_level == available_migrations()[-1].version
    assert info.migrations_pending == 0
    assert info.storage in {"native", "timescaledb"}
    assert info.row_counts["readings"] == 0


def test_two_processes_migrating_at_once_apply_each_migration_once(empty_db_dsn: str) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(len(migrate(empty_db_dsn)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [0, len(available_migrations())]
    with psycopg.connect(empty_db_dsn) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count is not None and count[0] == len(available_migrations())


def test_native_storage_has_monthly_partitions_ahead(db_conn: psycopg.Connection) -> None:
    kind = db_conn.execute("SELECT kind FROM meterbill_storage").fetchone()
    assert kind is not None
    if kind[0] != "native":
        return  # the TimescaleDB path creates chunks itself
    parts = db_conn.execute(
        """SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'readings'::regclass AND c.relname LIKE 'readings_y%'"""
    ).fetchone()
    assert parts is not None and parts[0] >= 48
    ahead = db_conn.execute(
        "SELECT to_regclass(format('readings_y%sm%s', to_char(d, 'YYYY'), to_char(d, 'MM')))"
        " FROM (SELECT (now() + interval '12 months')::date AS d) x"
    ).fetchone()
    assert ahead is not None and ahead[0] is not None


def test_an_edited_applied_migration_is_refused(db_dsn: str) -> None:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    try:
        migrate(db_dsn)
    except Exception as exc:
        assert "0001_core was changed after it was applied" in str(exc)
    else:
        raise AssertionError("a changed migration must be refused")
