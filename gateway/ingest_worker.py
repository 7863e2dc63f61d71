"""The server's ingest worker: batches from MQTT into ``readings``, acknowledged after COMMIT.

Several workers subscribe to ``$share/<group>/meterbill/<prefix>/ingest/+``
(an MQTT 5 shared subscription, §4.8.2): the broker hands each batch to one
member of the group, so adding a process adds throughput.

Per batch, in order:

1. decode and validate the payload (``gateway.mqtt_payload``); a malformed
   batch, or one whose ``gateway_id`` is not the topic's, is answered
   ``rejected`` with the reason and never written;
2. ``write_columns`` (``write_readings`` without a ``Reading`` per row): one
   transaction, idempotent on (meter, register, read_at), so a re-sent batch
   adds nothing and a failing batch adds nothing either (the database refusing
   it: ``rejected``; the database unreachable: ``retry``, and the
   connection is opened again for the next batch);
3. publish the answer (QoS 1) on ``meterbill/<prefix>/ack/<gateway_id>``;
4. only then PUBACK the batch's PUBLISH (``manual_ack``).

What happens when a worker dies holding batches (fault scenario 6): its
session is clean (``clean_start=True``, session expiry 0), so the broker drops
its subscription with the connection and gives new batches to the others.
Batches it held unanswered are not redelivered by the broker (Mosquitto does
not move a dead member's in-flight messages to another member); the gateway's
uplink gets no ack within its timeout, keeps the batch buffered and sends it
again, and another worker stores it.  If the dead worker had committed before
dying, the re-send finds every reading present and adds nothing.  So the
guarantee is the uplink's re-send plus the idempotent write, not QoS 1 alone
— QoS 1 only gets each copy to some worker at least once.  ``ReceiveMaximum``
bounds how many batches one worker holds at a time.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from dataclasses import dataclass

import psycopg
from paho.mqtt.client import MQTTMessage

from gateway.errors import UplinkError
from gateway.mqtt_connection import TOPIC_ROOT, MqttConnection, MqttSettings, check_topic_level
from gateway.mqtt_payload import (
    BatchAck,
    DecodedBatch,
    PayloadError,
    decode_columns,
    encode_ack,
)
from gateway.readings_writer import write_columns

log = logging.getLogger(__name__)


@dataclass
class IngestStats:
    """Counters of one worker (read from other threads; each is written by one thread)."""

    batches_stored: int = 0
    batches_rejected: int = 0
    batches_retry: int = 0
    readings_inserted: int = 0
    readings_duplicate: int = 0
    readings_quarantined: int = 0


@dataclass(frozen=True, slots=True)
class _Received:
    mid: int
    qos: int
    gateway_id: str
    decoded: DecodedBatch | BatchAck  # the batch, or the rejection of a malformed one


class IngestWorker:
    """Consumes batches of a shared subscription and writes them to PostgreSQL."""

    def __init__(self, settings: MqttSettings, dsn: str, group: str = "ingest",
                 client_id: str | None = None, receive_maximum: int = 4) -> None:
        self.settings = settings
        self.dsn = dsn
        self.group = check_topic_level(group, "shared subscription group")
        self.client_id = client_id or f"meterbill-ingest-{uuid.uuid4().hex[:8]}"
        self.subscription = f"$share/{group}/{TOPIC_ROOT}/{settings.prefix}/ingest/+"
        self.stats = IngestStats()
        self._inbox: queue.Queue[_Received | None] = queue.Queue()
        self._conn = MqttConnection(
            settings, self.client_id, clean_start=True, session_expiry_seconds=0,
            subscriptions=[self.subscription], on_message=self._receive,
            receive_maximum=receive_maximum, manual_ack=True)
        self._db: psycopg.Connection | None = None
        self._writer: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self._conn.ready

    def wait_ready(self, timeout_s: float) -> bool:
        """True once connected and the shared subscription is confirmed."""
        return self._conn.wait_ready(timeout_s)

    def start(self) -> None:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop,
                                            name=f"ingest-{self.client_id}", daemon=True)
            self._writer.start()
        self._conn.start()

    def stop(self) -> None:
        """Stop taking batches, finish the one being written, disconnect."""
        self._inbox.put(None)
        if self._writer is not None:
            self._writer.join(timeout=60)
            self._writer = None
        self._conn.stop()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _receive(self, message: MQTTMessage) -> None:
        """Network thread: decode, and hand the batch to the writer thread.

        Decoding here, not in the writer, overlaps the decoding of the next
        batch with the COPY of this one (the writer mostly waits on the
        server then, with the GIL released): one process ingests faster.
        """
        gateway_id = message.topic.rsplit("/", 1)[-1]
        self._inbox.put(_Received(message.mid, message.qos, gateway_id,
                                  _decode(message.payload)))

    def _write_loop(self) -> None:
        while (item := self._inbox.get()) is not None:
            try:
                ack = self._store(item.gateway_id, item.decoded)
            except Exception as exc:  # a bug must not silently stop this worker taking batches
                log.exception("ingest worker %s: storing a batch failed", self.client_id)
                self._drop_database()
                self.stats.batches_retry += 1
                ack = BatchAck(item.decoded.batch_id, "retry",
                               error=f"ingest worker error: {exc}")
            self._conn.publish(self.settings.ack_topic(item.gateway_id), encode_ack(ack), qos=1)
            if item.qos > 0:
                self._conn.ack(item.mid, item.qos)

    def handle(self, gateway_id: str, payload: bytes) -> BatchAck:
        """Decode and store one batch; the answer to publish.  Never raises for bad input."""
        return self._store(gateway_id, _decode(payload))

    def _store(self, gateway_id: str, batch: DecodedBatch | BatchAck) -> BatchAck:
        if isinstance(batch, BatchAck):
            self.stats.batches_rejected += 1
            return batch
        if batch.gateway_id != gateway_id:
            self.stats.batches_rejected += 1
            return BatchAck(batch.batch_id, "rejected",
                            error=f"batch {batch.batch_id}: $.gateway_id {batch.gateway_id!r} "
                                  f"arrived on the topic of gateway {gateway_id!r}")
        try:
            result = write_columns(self._database(), batch.columns)
        except (UplinkError, psycopg.OperationalError) as exc:
            if _database_unreachable(exc):
                self.stats.batches_retry += 1
                self._drop_database()
                return BatchAck(batch.batch_id, "retry", error=f"database unavailable: {exc}")
            self.stats.batches_rejected += 1
            return BatchAck(batch.batch_id, "rejected", error=str(exc))
        self.stats.batches_stored += 1
        self.stats.readings_inserted += result.inserted
        self.stats.readings_duplicate += result.duplicates
        self.stats.readings_quarantined += result.quarantined
        return BatchAck(batch.batch_id, "stored", received=result.received,
                        inserted=result.inserted, duplicates=result.duplicates,
                        quarantined=result.quarantined)

    def _database(self) -> psycopg.Connection:
        if self._db is None or self._db.closed or self._db.broken:
            self._db = psycopg.connect(self.dsn, autocommit=True,
                                       application_name=self.client_id[:63])
        return self._db

    def _drop_database(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None


def _decode(payload: bytes) -> DecodedBatch | BatchAck:
    try:
        return decode_columns(payload)
    except PayloadError as exc:
        return BatchAck(_batch_id_hint(payload), "rejected", error=str(exc))


def _database_unreachable(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, UplinkError) else exc
    return isinstance(cause, psycopg.OperationalError)


def _batch_id_hint(payload: bytes) -> str:
    """The batch id of a payload that failed to decode, if it can still be found."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return "?"
    batch_id = doc.get("batch_id") if isinstance(doc, dict) else None
    return batch_id if isinstance(batch_id, str) and batch_id else "?"
