"""Publish one message per supported MQTT meter format to a real broker (issue 5)."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from firmware_bridge.codecs.mbus_encode import DataField, DataRecord, FixedHeader, encode_rsp_ud

# A water meter's RSP_UD (EN 13757-3): volume 54.321 m³ as 8-digit BCD, VIF 13h (10⁻³ m³).
_WATER_METER_FRAME = encode_rsp_ud(
    1, FixedHeader(12345678, "ABC", 1, 0x07, access_no=1),
    (DataRecord(DataField.BCD8, 0x13, 54321),))

MESSAGES: dict[str, tuple[str, bytes]] = {
    "json": ("{prefix}/tele/plug/SENSOR", b'{"ENERGY":{"Total":12.345}}'),
    "tasmota": ("{prefix}/tele/sml/SENSOR",
                b'{"Time":"2026-01-15T10:00:00","MT175":{"Total_in":1234.5678}}'),
    "shelly": ("{prefix}/shelly/status/emdata:0", b'{"id":0,"total_act":9876.54}'),
    "mbus": ("{prefix}/mbus/W1", _WATER_METER_FRAME.hex().upper().encode()),
}


def publish(host: str, port: int, prefix: str, formats: list[str],
            payload_override: bytes | None = None) -> None:
    """Publish at QoS 1 and wait for each PUBACK, so the broker holds every message."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    try:
        for name in formats:
            topic, payload = MESSAGES[name]
            info = client.publish(topic.format(prefix=prefix), payload_override or payload, qos=1)
            info.wait_for_publish(timeout=5)
    finally:
        client.disconnect()
        client.loop_stop()
