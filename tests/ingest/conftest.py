"""Fixtures of the MQTT ingest tests: a broker and a database per module, meters per test.

Each test gets its own topic prefix and its own meter serials, so tests can
share one broker and one database (creating a database per test costs more
than the tests themselves) and still see only their own rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from gateway.mqtt_connection import MqttSettings
from tests.db_fixtures import create_database, drop_database, unique_name
from tests.ingest.broker import MosquittoBroker


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as running:
        yield running


@pytest.fixture
def mqtt_settings(broker: MosquittoBroker) -> MqttSettings:
    """Settings for this test alone: its own topic prefix on the module's broker."""
    return MqttSettings(host=broker.host, port=broker.port,
                        prefix=f"test-{uuid.uuid4().hex[:10]}", ack_timeout_seconds=5.0,
                        reconnect_min_seconds=0.05, reconnect_max_seconds=0.5)


@pytest.fixture(scope="module")
def ingest_dsn(migrated_template: str) -> Iterator[str]:
    """A migrated database shared by one module's tests, with a building to hang meters on."""
    name = unique_name("mbingest")
    dsn = create_database(name, template=migrated_template)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO properties (code, name) VALUES ('P', 'ingest test')")
        conn.execute("INSERT INTO buildings (property_id, code, name) "
                     "VALUES (1, 'B', 'ingest test')")
    yield dsn
    drop_database(name)


@pytest.fixture
def serials(ingest_dsn: str) -> list[str]:
    """Five meters registered for this test alone."""
    tag = uuid.uuid4().hex[:8]
    made = [f"SDM-{tag}-{i}" for i in range(5)]
    register_meters(ingest_dsn, made)
    return made


def register_meters(dsn: str, serials: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO meters (serial, medium, physical_unit, role, building_id) "
                        "VALUES (%s, 'electricity', 'kWh', 'main', 1)", [(s,) for s in serials])


def stored_readings(dsn: str, serials: list[str]) -> list[tuple[str, str, object, object]]:
    """Rows in readings of these meters, sorted."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT m.serial, r.register, r.read_at, r.value FROM readings r "
            "JOIN meters m ON m.id = r.meter_id WHERE m.serial = ANY(%s) ORDER BY 1, 2, 3",
            (serials,)).fetchall()
