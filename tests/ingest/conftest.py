"""Fixtures of the MQTT ingest tests: a broker of this module's own, a topic prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from gateway.mqtt_connection import MqttSettings
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


def register_meters(dsn: str, serials: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO properties (code, name) VALUES ('P', 'ingest test')")
        cur.execute("INSERT INTO buildings (property_id, code, name) "
                    "VALUES (1, 'B', 'ingest test')")
        cur.executemany("INSERT INTO meters (serial, medium, physical_unit, role, building_id) "
                        "VALUES (%s, 'electricity', 'kWh', 'main', 1)", [(s,) for s in serials])


def stored_readings(dsn: str) -> list[tuple[str, str, object, object]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT m.serial, r.register, r.read_at, r.value FROM readings r "
            "JOIN meters m ON m.id = r.meter_id ORDER BY 1, 2, 3").fetchall()
