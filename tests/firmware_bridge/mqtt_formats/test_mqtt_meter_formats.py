from decimal import Decimal

import pytest

from firmware_bridge.codecs.mqtt_meter_formats import (
    FieldMapping,
    decode_json_mapping,
    decode_shelly_gen2,
    decode_tasmota_sml,
    topic_matches,
)
from firmware_bridge.errors import FrameError


@pytest.mark.parametrize("pattern,topic,expected", [
    ("a/+/c", "a/b/c", True), ("a/+/c", "a/b/d", False), ("a/#", "a/b/c", True),
    ("a/+", "a/b/c", False), ("a/b", "a/b", True),
])
def test_topic_matches_wildcards(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


def test_json_mapping_selects_and_scales_exactly():
    m = [FieldMapping("tele/+/SENSOR", "E1", "energy_wh", "ENERGY.Total", Decimal(1000)),
         FieldMapping("shelly/#", "E2", "power_w", "em:0.a_act_power")]
    out = decode_json_mapping("tele/x/SENSOR", b'{"ENERGY":{"Total":12.345}}', m)
    assert [(v.meter_serial, v.value) for v in out] == [("E1", Decimal("12345.000"))]
    out = decode_json_mapping("shelly/a", b'{"em:0":{"a_act_power":0.1}}', m)
    assert out[0].value == Decimal("0.1")
    assert decode_json_mapping("other", b"garbage", m) == []


def test_tasmota_sml_keeps_time_and_sections():
    payload = b'{"Time":"2026-11-23T21:00:00","MT175":{"Total_in":1234.5678,"Power_curr":-15}}'
    out = decode_tasmota_sml("tele/sml/SENSOR", payload, "M1")
    assert {v.register: v.value for v in out} == {"MT175.Total_in": Decimal("1234.5678"),
                                                 "MT175.Power_curr": Decimal(-15)}
    assert out[0].time_text == "2026-11-23T21:00:00"


def test_shelly_em_and_emdata():
    out = decode_shelly_gen2("sh/status/em:0",
                             b'{"id":0,"a_act_power":12.3,"total_act_power":45.6}', "S")
    assert {v.register: v.value for v in out} == {"em:0.a_act_power.power_w": Decimal("12.3"),
                                                 "em:0.total_act_power.power_w": Decimal("45.6")}
    out = decode_shelly_gen2("sh/status/emdata:0", b'{"id":0,"total_act":9876.54}', "S")
    assert out[0].value == Decimal("9876.54")


@pytest.mark.parametrize("call,field", [
    (lambda: decode_tasmota_sml("t/SENSOR", b"{not json", "M"), "payload"),
    (lambda: decode_tasmota_sml("t/SENSOR", b'{"X":{"a":1}}', "M"), "Time"),
    (lambda: decode_tasmota_sml("t/SENSOR", b'{"Time":"x","X":{"a":"1"}}', "M"), "X.a"),
    (lambda: decode_shelly_gen2("s/status/em:0", b'{"a_act_power":null}', "S"), "a_act_power"),
    (lambda: decode_json_mapping("a", b'{"b":1}', [FieldMapping("a", "S", "r", "c.d")]), "c.d"),
])
def test_malformed_message_names_topic_and_field(call, field):
    with pytest.raises(FrameError) as info:
        call()
    assert info.value.field == field
