"""One database per test module; each test runs in a transaction that is rolled back.

Creating and dropping a database per test costs seconds on a busy machine;
everything the native store does (rollup refresh, retention's DROP of
partitions) is transactional, so a rollback gives the next test the same
clean state.  TimescaleDB refuses to refresh continuous aggregates inside a
transaction, so on that path each test gets a fresh autocommit database.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.db_fixtures import create_database, drop_database, unique_name


@pytest.fixture(scope="module")
def store_db(migrated_template: str) -> Iterator[str]:
    name = unique_name("mbstore")
    dsn = create_database(name, template=migrated_template)
    yield dsn
    drop_database(name)


@pytest.fixture
def store_conn(store_db: str, request: pytest.FixtureRequest) -> Iterator[psycopg.Connection]:
    with psycopg.connect(store_db) as conn:
        row = conn.execute("SELECT kind FROM meterbill_storage").fetchone()
        conn.rollback()
        if row is None or row[0] != "native":
            yield request.getfixturevalue("db_conn")
            return
        try:
            yield conn
        finally:
            conn.rollback()
