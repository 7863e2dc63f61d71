import queue
import threading
from datetime import UTC, datetime
from decimal import Decimal

from firmware_bridge.codecs.mqtt_meter_formats import FieldMapping
from gateway.mqtt_meter_input import MeterSubscription, MqttMeterInput
from simulators.mqtt_meter import publish
from tests.ingest.broker import MosquittoBroker


def test_each_format_arrives_as_readings_and_bad_message_is_counted():
    got: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    with MosquittoBroker() as broker:
        subs = [
            MeterSubscription("p/tele/plug/SENSOR", "json", mappings=(
                FieldMapping("p/tele/+/SENSOR", "E1", "energy_wh", "ENERGY.Total",
                             Decimal(1000)),)),
            MeterSubscription("p/tele/sml/SENSOR", "tasmota", "M1", local_zone="Europe/Berlin"),
            MeterSubscription("p/shelly/status/+", "shelly", "S1"),
            MeterSubscription("p/mbus/+", "mbus", "W1",
                              mbus_registers=(((0, 0, "Volume", "m^3"), "volume_m3"),)),
        ]
        inp = MqttMeterInput(broker.host, broker.port, subs, got.put)
        inp._client.on_subscribe = lambda *a: subscribed.set()
        inp.start()
        try:
            assert subscribed.wait(5)
            publish(broker.host, broker.port, "p", ["tasmota"], payload_override=b"{bad")
            publish(broker.host, broker.port, "p", ["json", "tasmota", "shelly", "mbus"])
            readings = {r.meter_serial: r for r in (got.get(timeout=5) for _ in range(4))}
        finally:
            inp.stop()
    assert readings["E1"].value == Decimal("12345.000")
    assert readings["M1"].register == "MT175.Total_in"
    assert readings["M1"].read_at == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert readings["S1"].value == Decimal("9876.54")
    assert readings["W1"].value == Decimal("54.321")
    assert inp.bad_messages == {"p/tele/sml/SENSOR": 1}
