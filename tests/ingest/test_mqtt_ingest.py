"""Gateway MQTT uplink → real Mosquitto → ingest worker(s) → rows in a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.errors import UplinkError
from gateway.ingest_worker import IngestWorker
from gateway.mqtt_connection import MqttSettings
from gateway.mqtt_uplink import BatchRejectedError, MqttUplink
from gateway.reading import Reading
from gateway.uplink import ReadingBatch
from tests.ingest.conftest import stored_readings

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_batches(gateway_id: str, serials: list[str], count: int, per_batch_cycles: int = 2,
                 ) -> list[ReadingBatch]:
    """``count`` batches, each ``per_batch_cycles`` polls of every meter."""
    batches = []
    for b in range(count):
        readings = tuple(
            Reading(serial, "energy_import_kwh",
                    T0 + timedelta(minutes=15 * (b * per_batch_cycles + c)),
                    Decimal(f"{1000 + 10 * b + c}.{m}25"))
            for c in range(per_batch_cycles) for m, serial in enumerate(serials))
        batches.append(ReadingBatch(gateway_id, f"{b}", readings))
    return batches


def expected_rows(batches: list[ReadingBatch]) -> list[tuple[str, str, datetime, Decimal]]:
    return sorted((r.meter_serial, r.register, r.read_at, r.value)
                  for b in batches for r in b.readings)


@pytest.fixture
def worker(mqtt_settings: MqttSettings, ingest_dsn: str) -> Iterator[IngestWorker]:
    running = IngestWorker(mqtt_settings, ingest_dsn, group="g", client_id="ingest-a")
    running.start()
    assert running.wait_ready(10), running._conn.last_error
    yield running
    running.stop()


async def deliver_all(uplink: MqttUplink, batches: list[ReadingBatch]) -> None:
    try:
        for batch in batches:
            await uplink.deliver(batch)
    finally:
        await uplink.close()


def test_batches_from_the_uplink_land_in_readings(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    batches = make_batches("gw-1", serials, 3)
    asyncio.run(deliver_all(MqttUplink(mqtt_settings, "gw-1"), batches))
    assert stored_readings(ingest_dsn, serials) == expected_rows(batches)
    assert worker.stats.batches_stored == 3
    assert worker.stats.readings_inserted == 30


def test_a_batch_delivered_twice_adds_nothing(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    batches = make_batches("gw-1", serials, 2)
    asyncio.run(deliver_all(MqttUplink(mqtt_settings, "gw-1"), batches + batches[:1]))
    assert stored_readings(ingest_dsn, serials) == expected_rows(batches)
    assert (worker.stats.batches_stored, worker.stats.readings_duplicate) == (3, 10)


def test_a_batch_the_database_refuses_is_rejected_and_nothing_written(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    good = Reading(serials[0], "energy_import_kwh", T0, Decimal("1"))
    bad = Reading(serials[1], "Energy Import", T0, Decimal("2"))
    with pytest.raises(BatchRejectedError, match=r"batch 7 rejected by the ingest worker: .*check"):
        asyncio.run(deliver_all(MqttUplink(mqtt_settings, "gw-1"),
                                [ReadingBatch("gw-1", "7", (good, bad))]))
    assert stored_readings(ingest_dsn, serials) == []


def answers_to(settings: MqttSettings, gateway_id: str, payloads: list[bytes],
               ) -> list[dict[str, object]]:
    """Publish raw payloads as gateway ``gateway_id`` and collect the worker's answers."""
    answers: list[dict[str, object]] = []
    done = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)

    def on_message(c: mqtt.Client, u: object, message: mqtt.MQTTMessage) -> None:
        answers.append(json.loads(message.payload))
        if len(answers) == len(payloads):
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(settings.host, settings.port)
    client.loop_start()
    try:
        client.subscribe(settings.ack_topic(gateway_id), qos=1)
        assert subscribed.wait(10)
        for payload in payloads:
            client.publish(settings.ingest_topic(gateway_id), payload, qos=1)
        assert done.wait(10), answers
    finally:
        client.loop_stop()
        client.disconnect()
    return answers


def test_a_malformed_batch_is_answered_with_a_nack_naming_the_problem(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    not_json = b'{"v": 1, "batch_id": "9"'
    bad_value = json.dumps({"v": 1, "gateway_id": "gw-1", "batch_id": "10",
                            "series": [[serials[0], "energy_import_kwh"]],
                            "times": [1772323200000000],
                            "readings": [[0, 0, "1.5"], [0, 0, 2.5]]}).encode()
    other_gateway = json.dumps({"v": 1, "gateway_id": "gw-2", "batch_id": "11", "series": [],
                                "times": [], "readings": []}).encode()
    answers = answers_to(mqtt_settings, "gw-1", [not_json, bad_value, other_gateway])
    assert [(a["batch_id"], a["status"]) for a in answers] == [
        ("?", "rejected"), ("10", "rejected"), ("11", "rejected")]
    assert "not JSON at byte" in str(answers[0]["error"])
    assert "$.readings[1] must be [series index, time index" in str(answers[1]["error"])
    assert "'gw-2' arrived on the topic of gateway 'gw-1'" in str(answers[2]["error"])
    assert stored_readings(ingest_dsn, serials) == []  # batch 10's valid first reading neither
    assert worker.stats.batches_rejected == 3


def test_two_workers_of_a_group_share_the_batches(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    second = IngestWorker(mqtt_settings, ingest_dsn, group="g", client_id="ingest-b")
    second.start()
    try:
        assert second.wait_ready(10)
        batches = make_batches("gw-1", serials, 12)
        asyncio.run(deliver_all(MqttUplink(mqtt_settings, "gw-1"), batches))
    finally:
        second.stop()
    assert stored_readings(ingest_dsn, serials) == expected_rows(batches)
    shares = (worker.stats.batches_stored, second.stats.batches_stored)
    assert sum(shares) == 12 and min(shares) > 0, shares


def test_without_a_worker_the_uplink_times_out_and_the_batch_is_not_delivered(
        mqtt_settings: MqttSettings) -> None:
    settings = mqtt_settings.model_copy(update={"ack_timeout_seconds": 0.5})
    with pytest.raises(UplinkError, match=r"batch 0: no acknowledgement .* within 0.5 s"):
        asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), make_batches("gw-1", ["SDM-X"], 1)))


def test_an_unreachable_broker_is_an_uplink_error() -> None:
    from tests.ingest.broker import free_port

    settings = MqttSettings(port=free_port(), ack_timeout_seconds=0.5)
    with pytest.raises(UplinkError, match=r"MQTT broker 127.0.0.1:\d+ not reachable within 0.5 s"):
        asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), make_batches("gw-1", ["SDM-X"], 1)))


def test_settings_refuse_a_password_without_user_and_tls_files_without_tls() -> None:
    with pytest.raises(ValueError, match="password is set but username is not"):
        MqttSettings(password="s3cret")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tls = false"):
        MqttSettings(ca_file="ca.pem")  # type: ignore[arg-type]
    assert "s3cret" not in repr(MqttSettings(username="gw", password="s3cret"))  # type: ignore[arg-type]


def test_gateway_id_must_be_one_topic_level(mqtt_settings: MqttSettings) -> None:
    with pytest.raises(ValueError, match=r"gateway id 'gw/1' cannot be one MQTT topic level"):
        MqttUplink(mqtt_settings, "gw/1")




def test_a_large_batch_round_trips_exactly(
        worker: IngestWorker, mqtt_settings: MqttSettings, ingest_dsn: str,
        serials: list[str]) -> None:
    """5,000 readings in one batch: encoded off the event loop, one COPY on the server."""
    batches = make_batches("gw-1", serials, 1, per_batch_cycles=1000)
    asyncio.run(deliver_all(MqttUplink(mqtt_settings, "gw-1"), batches))
    assert stored_readings(ingest_dsn, serials) == expected_rows(batches)
    assert worker.stats.readings_inserted == 5000
