"""Mosquitto restarted during a burst (the MQTT side of fault scenario 2).

The broker of this test is its own (``MosquittoBroker`` on a free port, no
persistence), so the restart loses every session and in-flight message and
disturbs no other test.  Uplink and worker reconnect with jittered backoff and
subscribe again; batches caught by the restart are sent again until acked, and
every reading lands exactly once.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from gateway.errors import UplinkError
from gateway.ingest_worker import IngestWorker
from gateway.mqtt_connection import MqttSettings
from gateway.mqtt_uplink import MqttUplink
from gateway.uplink import ReadingBatch
from tests.ingest.broker import MosquittoBroker
from tests.ingest.conftest import stored_readings
from tests.ingest.test_mqtt_ingest import expected_rows, make_batches


async def send_burst(uplink: MqttUplink, batches: list[ReadingBatch],
                     restart_after: int, restart: threading.Thread) -> list[int]:
    """Deliver in order, each until acked (as the buffer does); restart the broker midway."""
    attempts = []
    try:
        for i, batch in enumerate(batches):
            if i == restart_after:
                restart.start()
            tries = 0
            while True:
                tries += 1
                try:
                    await uplink.deliver(batch)
                    break
                except UplinkError:
                    assert tries < 30
            attempts.append(tries)
    finally:
        await uplink.close()
    return attempts


def test_a_broker_restart_during_a_burst_loses_and_duplicates_nothing(
        ingest_dsn: str, serials: list[str]) -> None:
    db_dsn = ingest_dsn
    batches = make_batches("gw-1", serials, 20)
    with MosquittoBroker() as broker:
        settings = MqttSettings(host=broker.host, port=broker.port,
                                prefix=f"test-{uuid.uuid4().hex[:10]}", ack_timeout_seconds=2.0,
                                reconnect_min_seconds=0.05, reconnect_max_seconds=0.5)
        worker = IngestWorker(settings, db_dsn, group="g", client_id="ingest-r")
        worker.start()
        try:
            assert worker.wait_ready(10)
            restart = threading.Thread(target=broker.restart)
            attempts = asyncio.run(send_burst(MqttUplink(settings, "gw-1"), batches, 5, restart))
            restart.join()
        finally:
            worker.stop()
        reconnects = worker._conn.connects
    assert stored_readings(db_dsn, serials) == expected_rows(batches)
    assert reconnects >= 2  # the worker did lose the broker and came back
    assert len(attempts) == 20
