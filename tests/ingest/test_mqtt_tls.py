"""TLS and credentials: a broker that only speaks TLS and wants a password."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from gateway.errors import UplinkError
from gateway.ingest_worker import IngestWorker
from gateway.mqtt_connection import MqttSettings
from gateway.mqtt_uplink import MqttUplink
from tests.ingest.broker import MosquittoBroker
from tests.ingest.conftest import stored_readings
from tests.ingest.test_mqtt_ingest import deliver_all, expected_rows, make_batches


@pytest.fixture(scope="module")
def secure_broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker(secure=True) as running:
        yield running


def secure_settings(broker: MosquittoBroker, password: str) -> MqttSettings:
    return MqttSettings(host=broker.host, port=broker.port, prefix=f"tls-{uuid.uuid4().hex[:8]}",
                        tls=True, ca_file=broker.ca_file, username=broker.username,
                        password=SecretStr(password), ack_timeout_seconds=5.0,
                        reconnect_min_seconds=0.05, reconnect_max_seconds=0.5)


def test_batches_travel_over_tls_with_credentials(
        secure_broker: MosquittoBroker, ingest_dsn: str, serials: list[str]) -> None:
    settings = secure_settings(secure_broker, secure_broker.password)
    worker = IngestWorker(settings, ingest_dsn, group="g")
    worker.start()
    try:
        assert worker.wait_ready(10), worker._conn.last_error
        batches = make_batches("gw-1", serials, 2)
        asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), batches))
    finally:
        worker.stop()
    assert stored_readings(ingest_dsn, serials) == expected_rows(batches)


def test_a_wrong_password_is_refused_by_the_broker_and_named(
        secure_broker: MosquittoBroker, serials: list[str]) -> None:
    settings = secure_settings(secure_broker, "wrong").model_copy(
        update={"ack_timeout_seconds": 1.0})
    with pytest.raises(UplinkError, match=r"not reachable within 1 s \(broker refused the "
                                          r"connection: (Bad user name or password|Not auth)"):
        asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), make_batches("gw-1", serials, 1)))


def test_a_broker_certificate_from_another_ca_is_refused(
        secure_broker: MosquittoBroker, serials: list[str]) -> None:
    settings = secure_settings(secure_broker, secure_broker.password).model_copy(
        update={"ca_file": None, "ack_timeout_seconds": 1.0})  # the system CAs only
    with pytest.raises(UplinkError, match=r"not reachable within 1 s \(connecting to .*certif"):
        asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), make_batches("gw-1", serials, 1)))
