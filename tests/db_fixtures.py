"""Real PostgreSQL for the tests: ``METERBILL_TEST_DSN`` when set, else an embedded server.

Each xdist worker migrates one template database once; every test that asks for
``db_dsn`` gets a fresh copy of it (``CREATE DATABASE … TEMPLATE``, a file copy,
much faster than migrating again) and it is dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from api.db.embedded import EmbeddedPostgres
from api.db.migrate import migrate

_embedded: EmbeddedPostgres | None = None


def server_dsn() -> str:
    """A DSN to the server's maintenance database (for CREATE/DROP DATABASE)."""
    global _embedded
    dsn = os.environ.get("METERBILL_TEST_DSN")
    if dsn:
        return dsn
    if _embedded is None:
        data = Path(tempfile.gettempdir()) / f"meterbill-test-pg-{os.getuid()}"
        _embedded = EmbeddedPostgres(data)
    return _embedded.dsn("postgres")


def dsn_for(database: str) -> str:
    return make_conninfo(server_dsn(), dbname=database)


def create_database(name: str, template: str | None = None) -> str:
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        conn.execute(sql)
    return dsn_for(name)


def drop_database(name: str) -> None:
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    name = unique_name("mbtest_tmpl")
    dsn = create_database(name)
    migrate(dsn)
    yield name
    drop_database(name)


@pytest.fixture
def db_dsn(migrated_template: str) -> Iterator[str]:
    """DSN of a fresh, fully migrated database of this test's own."""
    name = unique_name("mbtest")
    dsn = create_database(name, template=migrated_template)
    yield dsn
    drop_database(name)


@pytest.fixture
def empty_db_dsn() -> Iterator[str]:
    """DSN of a fresh, empty database (no migrations)."""
    name = unique_name("mbtest_empty")
    dsn = create_database(name)
    yield dsn
    drop_database(name)


@pytest.fixture
def db_conn(db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn
