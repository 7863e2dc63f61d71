"""Fault scenario 6: an ingest worker killed (SIGKILL) while holding unacknowledged batches.

Worker A (a real ``meterbill ingest run`` subprocess) takes batches and blocks
on a table lock this test holds, so it holds them uncommitted and unacked; it
is then killed.  Worker B takes over.  What guarantees that every reading
lands exactly once is the uplink's re-send of a batch whose ack did not come
(as the gateway's buffer does after an ``UplinkError``) plus the idempotent
write: the broker does not hand A's in-flight batches to B by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from gateway.errors import UplinkError
from gateway.ingest_worker import IngestWorker
from gateway.mqtt_connection import MqttSettings
from gateway.mqtt_uplink import MqttUplink
from gateway.uplink import ReadingBatch
from tests.ingest.conftest import stored_readings
from tests.ingest.test_mqtt_ingest import expected_rows, make_batches

ROOT = Path(__file__).resolve().parents[2]


def start_worker_process(settings: MqttSettings, dsn: str, client_id: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "meterbill.ingest_cli", "run", "--mqtt-host", settings.host,
         "--mqtt-port", str(settings.port), "--prefix", settings.prefix, "--group", "g",
         "--client-id", client_id, "--receive-maximum", "4"],
        cwd=ROOT, env={**os.environ, "METERBILL_DSN": dsn, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:  # blocks until the worker says it is subscribed (or exits)
        lines.append(line)
        if f"ingest worker {client_id} subscribed to $share/g/" in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process
    process.wait()
    raise AssertionError(f"worker {client_id} exited before subscribing: {''.join(lines)}")


def wait_until(condition, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


async def deliver_until_acked(uplink: MqttUplink, batch: ReadingBatch) -> int:
    """What the gateway buffer does: keep the batch and send it again until it is acked."""
    attempts = 0
    while True:
        attempts += 1
        try:
            await uplink.deliver(batch)
            return attempts
        except UplinkError:
            if attempts >= 20:
                raise


async def deliver_all(uplink: MqttUplink, batches: list[ReadingBatch]) -> list[int]:
    try:
        return list(await asyncio.gather(*(deliver_until_acked(uplink, b) for b in batches)))
    finally:
        await uplink.close()


def test_batches_held_by_a_killed_worker_land_exactly_once_through_another(
        mqtt_settings: MqttSettings, ingest_dsn: str, serials: list[str]) -> None:
    db_dsn = ingest_dsn
    settings = mqtt_settings.model_copy(update={"ack_timeout_seconds": 2.0})
    batches = make_batches("gw-1", serials, 6)
    worker_a = start_worker_process(settings, db_dsn, "ingest-a")
    worker_b: IngestWorker | None = None
    lock = psycopg.connect(db_dsn)
    try:
        lock.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")  # A will wait on it
        result: dict[str, object] = {}
        sender = threading.Thread(target=lambda: result.update(
            attempts=asyncio.run(deliver_all(MqttUplink(settings, "gw-1"), batches))))
        sender.start()

        def a_is_blocked() -> bool:
            with psycopg.connect(db_dsn, autocommit=True) as probe:
                row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                    "application_name = 'ingest-a' AND wait_event_type = 'Lock'"
                                    ).fetchone()
            return bool(row and row[0])

        wait_until(a_is_blocked, "worker A to hold a batch in an open transaction")
        worker_a.send_signal(signal.SIGKILL)
        worker_a.wait(timeout=10)
        worker_b = IngestWorker(settings, db_dsn, group="g", client_id="ingest-b")
        worker_b.start()
        assert worker_b.wait_ready(10)
        lock.rollback()  # A's backend now finds its client gone; its transaction aborts
        sender.join(timeout=120)
        assert not sender.is_alive()
    finally:
        lock.close()
        if worker_a.poll() is None:
            worker_a.kill()
            worker_a.wait()
        if worker_b is not None:
            worker_b.stop()
    rows = stored_readings(db_dsn, serials)
    assert rows == expected_rows(batches)
    assert len(rows) == len(set(rows)) == 6 * 2 * len(serials)
    assert max(result["attempts"]) > 1  # type: ignore[call-overload]  # some were sent again
    assert worker_b.stats.batches_stored >= 1
