"""One MQTT 5 connection kept alive by its own thread: settings, TLS, credentials, reconnects.

Shared by the gateway's MQTT uplink and the server's ingest worker.

Why a thread of our own instead of paho's ``loop_start``: paho's automatic
reconnect doubles its delay without jitter, so after a broker restart every
gateway of a site would come back in lock-step.  Here the thread calls
``Client.loop`` itself and, when the connection drops, waits a delay drawn
from ``[cap/2, cap]`` with ``cap = min(max, min * 2**attempt)`` ("equal
jitter"), reset once a CONNACK succeeds.

Why every call goes through that thread (``submit``): paho writes a publish
to the socket from the calling thread when no paho thread runs, and two
threads writing a large payload in parts would interleave packets.  So
``publish`` and ``ack`` are queued and the network thread performs them;
the loop wakes every ``_TICK_S`` to drain that queue.

Subscriptions are made again after every CONNACK, so a broker that lost its
sessions (restarted without persistence) is served as before.
"""

from __future__ import annotations

import logging
import queue
import random
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

log = logging.getLogger(__name__)

_TICK_S = 0.02
TOPIC_ROOT = "meterbill"


class MqttSettings(BaseModel):
    """Where the broker is and how to log in; one object for uplink and ingest worker.

    ``prefix`` separates deployments (and tests) on one broker: topics are
    ``meterbill/<prefix>/ingest/<gateway_id>`` and ``meterbill/<prefix>/ack/<gateway_id>``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    prefix: str = Field("default", pattern=r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_seconds: int = Field(30, ge=5, le=3600)
    reconnect_min_seconds: float = Field(0.1, gt=0, le=60)
    reconnect_max_seconds: float = Field(30.0, gt=0, le=3600)
    # How long the broker keeps the uplink's session (and its queued acks) while it is away.
    session_expiry_seconds: int = Field(3600, ge=0)
    # The uplink gives up on a batch (it stays buffered, is sent again) after this long.
    ack_timeout_seconds: float = Field(10.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.password is not None and self.username is None:
            raise ValueError("password is set but username is not")
        if (self.ca_file or self.cert_file or self.key_file) and not self.tls:
            raise ValueError("ca_file/cert_file/key_file given but tls = false")
        if self.key_file and not self.cert_file:
            raise ValueError("key_file given without cert_file")
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError("reconnect_max_seconds is below reconnect_min_seconds")
        return self

    def ingest_topic(self, gateway_id: str) -> str:
        return f"{TOPIC_ROOT}/{self.prefix}/ingest/{gateway_id}"

    def ack_topic(self, gateway_id: str) -> str:
        return f"{TOPIC_ROOT}/{self.prefix}/ack/{gateway_id}"


def check_topic_level(value: str, what: str) -> str:
    """A name used as one topic level: no separators or wildcards (MQTT 5 §4.7)."""
    if not value or any(c in value for c in "/+#\0") or value.startswith("$"):
        raise ValueError(f"{what} {value!r} cannot be one MQTT topic level "
                         "(empty, or contains / + # NUL, or starts with $)")
    return value


class ReconnectBackoff:
    """Delays between reconnect attempts: exponential, capped, with equal jitter."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s, self.max_s = min_s, max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay_s(self) -> float:
        cap = min(self.max_s, self.min_s * 2 ** min(self.attempt, 30))
        self.attempt += 1
        return self._rng.uniform(cap / 2, cap)

    def reset(self) -> None:
        self.attempt = 0


MessageHandler = Callable[[mqtt.MQTTMessage], None]


class MqttConnection:
    """A paho MQTT 5 client on its own network thread, reconnecting with jittered backoff."""

    def __init__(self, settings: MqttSettings, client_id: str, *, clean_start: bool,
                 session_expiry_seconds: int, subscriptions: list[str],
                 on_message: MessageHandler, receive_maximum: int | None = None,
                 manual_ack: bool = False) -> None:
        self.settings = settings
        self.client_id = client_id
        self._clean_start = clean_start
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5, manual_ack=manual_ack)
        self._client.max_queued_messages_set(0)
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, password)
        if settings.tls:
            self._client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED)
        self._connect_properties = Properties(PacketTypes.CONNECT)
        self._connect_properties.SessionExpiryInterval = session_expiry_seconds
        if receive_maximum is not None:
            self._connect_properties.ReceiveMaximum = receive_maximum
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_subscribe = self._handle_subscribe
        self._client.on_message = self._handle_message
        self._backoff = ReconnectBackoff(settings.reconnect_min_seconds,
                                         settings.reconnect_max_seconds)
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue())
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._subscribe_mid: int | None = None
        self._thread: threading.Thread | None = None
        self.connects = 0
        self.last_error = ""
        self._refused = False

    # -- public, any thread -------------------------------------------------
    @property
    def ready(self) -> bool:
        """Connected, and the subscriptions of this connection confirmed by the broker."""
        return self._ready.is_set()

    def wait_ready(self, timeout_s: float) -> bool:
        return self._ready.wait(timeout_s)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.client_id}",
                                            daemon=True)
            self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the network thread (paho is not safe to write from two)."""
        self._calls.put((fn, args))

    def publish(self, topic: str, payload: bytes, qos: int = 1,
                properties: Properties | None = None) -> None:
        self.submit(self._publish, topic, payload, qos, properties)

    def ack(self, mid: int, qos: int) -> None:
        """Send the PUBACK of a received message (``manual_ack``)."""
        self.submit(self._client.ack, mid, qos)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- network thread -----------------------------------------------------
    def _publish(self, topic: str, payload: bytes, qos: int,
                 properties: Properties | None) -> None:
        info = self._client.publish(topic, payload, qos=qos, properties=properties)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.last_error = f"publish to {topic} failed: {mqtt.error_string(info.rc)}"
            log.warning("%s: %s", self.client_id, self.last_error)

    def _drain_calls(self) -> None:
        while True:
            try:
                fn, args = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn(*args)
            except Exception as exc:  # one failed call must not end the connection thread
                self.last_error = f"{getattr(fn, '__name__', fn)} failed: {exc}"
                log.warning("%s: %s", self.client_id, self.last_error)

    def _run(self) -> None:
        s = self.settings
        first = True
        while not self._stopping.is_set():
            try:
                if first:
                    first = False
                    rc = self._client.connect(s.host, s.port, s.keepalive_seconds,
                                              clean_start=self._clean_start,
                                              properties=self._connect_properties)
                else:
                    rc = self._client.reconnect()
            except (OSError, ssl.SSLError) as exc:
                rc = MQTTErrorCode.MQTT_ERR_CONN_REFUSED
                self.last_error = f"connecting to {s.host}:{s.port}: {exc}"
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and not self._stopping.is_set():
                self._drain_calls()
                rc = self._client.loop(timeout=_TICK_S)
            self._ready.clear()
            if self._stopping.is_set():
                break
            self._stopping.wait(self._backoff.next_delay_s())
        self._drain_calls()
        try:
            self._client.disconnect()
            self._client.loop(timeout=_TICK_S)
        except Exception:  # the socket may be gone already
            pass

    def _handle_connect(self, client: mqtt.Client, userdata: object, flags: Any,
                        reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            self._refused = True
            log.warning("%s: %s", self.client_id, self.last_error)
            return
        self._refused = False
        self.connects += 1
        self._backoff.reset()
        if not self._subscriptions:
            self._ready.set()
            return
        _rc, mid = client.subscribe([(topic, SubscribeOptions(qos=1))
                                    for topic in self._subscriptions])
        self._subscribe_mid = mid

    def _handle_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                          reason_codes: list[Any], properties: Any) -> None:
        if mid != self._subscribe_mid:
            return
        failed = [str(code) for code in reason_codes if code.is_failure]
        if failed:
            self.last_error = f"subscribing to {self._subscriptions} refused: {failed}"
            log.warning("%s: %s", self.client_id, self.last_error)
            client.disconnect()
            return
        self._ready.set()

    def _handle_disconnect(self, client: mqtt.Client, userdata: object, flags: Any,
                           reason_code: Any, properties: Any) -> None:
        self._ready.clear()
        if not self._stopping.is_set() and not self._refused:  # keep the refusal's reason
            self.last_error = f"disconnected: {reason_code}"

    def _handle_message(self, client: mqtt.Client, userdata: object,
                        message: mqtt.MQTTMessage) -> None:
        self._on_message(message)
