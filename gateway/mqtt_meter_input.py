"""Subscribe to meters that publish over MQTT and hand their values on as Readings.

paho-mqtt 2.x, MQTT 5, QoS 1, optional TLS and username/password.  Decoding is
``firmware_bridge.codecs.mqtt_meter_formats`` (pure); this module adds the
clock: Tasmota ``Time`` is local time without zone, so a configured zone makes
it UTC-aware; other formats take the receive time.  A bad message is counted
per topic and logged; it never stops the input (STYLE.md, "Errors").
"""

from __future__ import annotations

import logging
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt

from firmware_bridge.codecs.mqtt_meter_formats import (
    FieldMapping,
    MbusKey,
    MeterValue,
    decode_json_mapping,
    decode_mbus_hex,
    decode_shelly_gen2,
    decode_tasmota_sml,
)
from firmware_bridge.errors import FrameError
from gateway.reading import Reading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeterSubscription:
    """One topic filter, its format (``json``/``tasmota``/``shelly``/``mbus``) and meter."""

    topic_filter: str
    format: str
    meter_serial: str = ""
    mappings: tuple[FieldMapping, ...] = ()
    local_zone: str = "UTC"
    mbus_registers: tuple[tuple[MbusKey, str], ...] = ()


@dataclass
class MqttMeterInput:
    """Owns one paho client; ``bad_messages`` counts malformed messages per topic."""

    host: str
    port: int
    subscriptions: list[MeterSubscription]
    on_reading: Callable[[Reading], None]
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    bad_messages: Counter[str] = field(default_factory=Counter)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if self.username is not None:
            self._client.username_pw_set(self.username, self.password)
        if self.ca_file is not None:
            self._client.tls_set(ca_certs=self.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def start(self) -> None:
        self._client.connect(self.host, self.port)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: object, properties: object) -> None:
        client.subscribe([(s.topic_filter, mqtt.SubscribeOptions(qos=1))
                          for s in self.subscriptions])

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        received_at = self.clock()
        for sub in self.subscriptions:
            if not mqtt.topic_matches_sub(sub.topic_filter, message.topic):
                continue
            try:
                for value in self._decode(sub, message.topic, message.payload):
                    self.on_reading(Reading(value.meter_serial, value.register,
                                            self._read_at(sub, value, received_at), value.value))
            except (FrameError, ValueError) as exc:
                self.bad_messages[message.topic] += 1
                log.warning("bad meter message on %s: %s", message.topic, exc)

    @staticmethod
    def _decode(sub: MeterSubscription, topic: str, payload: bytes) -> list[MeterValue]:
        if sub.format == "json":
            return decode_json_mapping(topic, payload, list(sub.mappings))
        if sub.format == "tasmota":
            return decode_tasmota_sml(topic, payload, sub.meter_serial)
        if sub.format == "shelly":
            return decode_shelly_gen2(topic, payload, sub.meter_serial)
        if sub.format == "mbus":
            return decode_mbus_hex(topic, payload, sub.meter_serial, dict(sub.mbus_registers))
        raise ValueError(f"unknown MQTT meter format {sub.format!r}")

    @staticmethod
    def _read_at(sub: MeterSubscription, value: MeterValue, received_at: datetime) -> datetime:
        if value.time_text is None:
            return received_at
        local = datetime.fromisoformat(value.time_text)
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZoneInfo(sub.local_zone))
        return local.astimezone(UTC)
