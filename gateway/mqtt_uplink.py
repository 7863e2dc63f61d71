"""The MQTT uplink: a batch is published with QoS 1 and delivered once an ingest worker acks it.

Flow per batch (``deliver``):

1. wait until the connection is up and the ack topic subscribed (within the
   ack timeout);
2. publish the batch (``gateway.mqtt_payload``) with QoS 1 to
   ``meterbill/<prefix>/ingest/<gateway_id>``;
3. wait for the answer on ``meterbill/<prefix>/ack/<gateway_id>`` carrying
   this ``batch_id``: ``stored`` returns; ``rejected`` raises
   ``BatchRejectedError`` (an ``UplinkError``: re-sending cannot help),
   ``retry`` an ``UplinkError`` with the worker's reason; no answer within
   ``ack_timeout_seconds`` raises ``UplinkError`` too.

What makes delivery exactly-once end to end: the buffer keeps a batch until
``deliver`` returns, and re-sends it (same ``batch_id``, same readings) after
an ``UplinkError``; the worker's write is idempotent on (meter, register,
read_at).  A PUBACK from the broker is not enough to let go of a batch: the
broker may lose it (restart without persistence, or a worker that dies with
it in flight), so only the worker's ack, sent after its COMMIT, counts.

The uplink's own session is persistent (``clean_start=False`` with a session
expiry), so an ack published while the gateway is briefly disconnected is
queued by the broker and still arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from paho.mqtt.client import MQTTMessage
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.errors import UplinkError
from gateway.mqtt_connection import MqttConnection, MqttSettings, check_topic_level
from gateway.mqtt_payload import BatchAck, PayloadError, decode_ack, encode_batch
from gateway.uplink import ReadingBatch

CONTENT_TYPE = "application/vnd.meterbill.batch+json; v=1"
# Encoding a batch this large would hold up the event loop: done in a thread.
_ENCODE_IN_THREAD_READINGS = 2000


class BatchRejectedError(UplinkError):
    """The ingest worker refused the batch as it is (malformed, or refused by the database).

    Sending it again cannot succeed; the caller decides what to do with it
    (set it aside and count it).  Other ``UplinkError``s are worth a retry.
    """

    def __init__(self, batch_id: str, reason: str) -> None:
        super().__init__(f"batch {batch_id} rejected by the ingest worker: {reason}")
        self.batch_id = batch_id
        self.reason = reason


class MqttUplink:
    """An ``Uplink`` over MQTT 5 to the server's ingest workers."""

    name = "mqtt"

    def __init__(self, settings: MqttSettings, gateway_id: str,
                 client_id: str | None = None) -> None:
        self.settings = settings
        self.gateway_id = check_topic_level(gateway_id, "gateway id")
        self._topic = settings.ingest_topic(gateway_id)
        self._ack_topic = settings.ack_topic(gateway_id)
        self._conn = MqttConnection(
            settings, client_id or f"meterbill-gw-{gateway_id}", clean_start=False,
            session_expiry_seconds=settings.session_expiry_seconds,
            subscriptions=[self._ack_topic], on_message=self._handle_ack)
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[BatchAck]]]]
        self._waiting = {}
        self.acks_received = 0
        self.bad_acks = 0

    @property
    def connected(self) -> bool:
        return self._conn.ready

    @property
    def last_error(self) -> str:
        return self._conn.last_error

    async def deliver(self, batch: ReadingBatch) -> None:
        """Return once an ingest worker stored ``batch``; raise UplinkError otherwise."""
        if batch.gateway_id != self.gateway_id:
            raise UplinkError(f"batch {batch.batch_id} is of gateway {batch.gateway_id!r}, "
                              f"this uplink sends for {self.gateway_id!r}")
        timeout_s = self.settings.ack_timeout_seconds
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        self._conn.start()
        if not self._conn.ready and not await asyncio.to_thread(self._conn.wait_ready, timeout_s):
            raise UplinkError(f"MQTT broker {self.settings.host}:{self.settings.port} not "
                              f"reachable within {timeout_s:g} s"
                              + (f" ({self._conn.last_error})" if self._conn.last_error else ""))
        future: asyncio.Future[BatchAck] = loop.create_future()
        entry = (loop, future)
        with self._lock:
            self._waiting.setdefault(batch.batch_id, []).append(entry)
        try:
            properties = Properties(PacketTypes.PUBLISH)
            properties.PayloadFormatIndicator = 1
            properties.ContentType = CONTENT_TYPE
            properties.ResponseTopic = self._ack_topic
            properties.CorrelationData = batch.batch_id.encode()
            payload = (await asyncio.to_thread(encode_batch, batch)
                       if len(batch.readings) > _ENCODE_IN_THREAD_READINGS
                       else encode_batch(batch))
            self._conn.publish(self._topic, payload, qos=1, properties=properties)
            try:
                ack = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise UplinkError(f"batch {batch.batch_id}: no acknowledgement from an ingest "
                                  f"worker within {timeout_s:g} s") from None
        finally:
            with self._lock:
                entries = self._waiting.get(batch.batch_id, [])
                if entry in entries:
                    entries.remove(entry)
                if not entries:
                    self._waiting.pop(batch.batch_id, None)
        if ack.status == "rejected":
            raise BatchRejectedError(batch.batch_id, ack.error)
        if ack.status == "retry":
            raise UplinkError(f"batch {batch.batch_id} not stored, to be sent again: {ack.error}")

    async def close(self) -> None:
        await asyncio.to_thread(self._conn.stop)

    def _handle_ack(self, message: MQTTMessage) -> None:
        """Network thread: resolve whoever waits for this batch id."""
        try:
            ack = decode_ack(message.payload)
        except PayloadError:
            self.bad_acks += 1
            return
        self.acks_received += 1
        with self._lock:
            entries = list(self._waiting.get(ack.batch_id, []))
        for loop, future in entries:
            with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits
                loop.call_soon_threadsafe(_resolve, future, ack)


def _resolve(future: asyncio.Future[BatchAck], ack: BatchAck) -> None:
    if not future.done():
        future.set_result(ack)
