"""Decode meter values published over MQTT: pure, topic and payload bytes in, values out.

Formats (issue 5, "MQTT input"):

* JSON mapping: a topic pattern (MQTT wildcards ``+`` one level, ``#`` the rest,
  MQTT 5 section 4.7) maps to a meter serial and register; a dotted selector
  (``ENERGY.Total``, ``em:0.a_act_power``) picks the field; ``scale`` multiplies.
* Tasmota SML telemetry: ``tele/<dev>/SENSOR`` JSON ``{"Time": ..., "<name>": {...}}``.
* Shelly Gen2 EM/3EM: ``<id>/status/em:0`` powers in W, ``<id>/status/emdata:0`` energies in Wh.

JSON numbers are parsed with ``parse_float=Decimal`` so values stay exact.  A
malformed message raises :class:`FrameError` naming the topic and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from firmware_bridge.errors import FrameError

PROTOCOL = "MQTT meter"


@dataclass(frozen=True, slots=True)
class MeterValue:
    """One decoded value; ``time_text`` is the message's own timestamp text, if any."""

    meter_serial: str
    register: str
    value: Decimal
    time_text: str | None = None


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """A topic pattern with wildcards mapped to one meter register."""

    topic_pattern: str
    meter_serial: str
    register: str
    selector: str
    scale: Decimal = Decimal(1)


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT 5 section 4.7.1: ``+`` matches one level, ``#`` (last) matches the rest."""
    p_levels, t_levels = pattern.split("/"), topic.split("/")
    for i, level in enumerate(p_levels):
        if level == "#":
            return True
        if i >= len(t_levels) or (level != "+" and level != t_levels[i]):
            return False
    return len(p_levels) == len(t_levels)


def _load_json(topic: str, payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8"), parse_float=Decimal, parse_int=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError(PROTOCOL, f"topic {topic!r}: payload is not JSON: {exc}",
                         field="payload") from exc


def _number(topic: str, path: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, Decimal):
        raise FrameError(PROTOCOL, f"topic {topic!r}: {path} is {raw!r}, not a number",
                         field=path)
    return raw


def select(topic: str, document: Any, selector: str) -> Decimal:
    """Follow a dotted selector; keys are tried whole first so ``em:0`` stays one key."""
    node = document
    for key in selector.split("."):
        if not isinstance(node, dict) or key not in node:
            raise FrameError(PROTOCOL, f"topic {topic!r}: field {selector} is missing",
                             field=selector)
        node = node[key]
    return _number(topic, selector, node)


def decode_json_mapping(topic: str, payload: bytes,
                        mappings: list[FieldMapping]) -> list[MeterValue]:
    """Apply every mapping whose pattern matches ``topic``."""
    matching = [m for m in mappings if topic_matches(m.topic_pattern, topic)]
    if not matching:
        return []
    document = _load_json(topic, payload)
    return [MeterValue(m.meter_serial, m.register, select(topic, document, m.selector) * m.scale)
            for m in matching]


def decode_tasmota_sml(topic: str, payload: bytes, meter_serial: str) -> list[MeterValue]:
    """Tasmota ``tele/<dev>/SENSOR``: each SML section's numeric fields become registers
    named ``<section>.<field>``; ``Time`` is local time without zone (caller sets zone)."""
    document = _load_json(topic, payload)
    if not isinstance(document, dict):
        raise FrameError(PROTOCOL, f"topic {topic!r}: payload is not an object", field="payload")
    time_text = document.get("Time")
    if not isinstance(time_text, str):
        raise FrameError(PROTOCOL, f"topic {topic!r}: Time is missing", field="Time")
    values: list[MeterValue] = []
    for section, fields in document.items():
        if section == "Time" or not isinstance(fields, dict):
            continue
        for name, raw in fields.items():
            values.append(MeterValue(meter_serial, f"{section}.{name}",
                                     _number(topic, f"{section}.{name}", raw), time_text))
    if not values:
        raise FrameError(PROTOCOL, f"topic {topic!r}: no SML section", field="payload")
    return values


SHELLY_EM_FIELDS = ("a_act_power", "b_act_power", "c_act_power", "total_act_power")
SHELLY_EMDATA_FIELDS = ("a_total_act_energy", "b_total_act_energy", "c_total_act_energy",
                        "total_act", "total_act_ret")


def decode_shelly_gen2(topic: str, payload: bytes, meter_serial: str) -> list[MeterValue]:
    """Shelly Gen2 ``<id>/status/em:N`` (W) and ``<id>/status/emdata:N`` (Wh) documents."""
    component = topic.rsplit("/", 1)[-1]
    if component.startswith("emdata:"):
        fields, unit = SHELLY_EMDATA_FIELDS, "energy_wh"
    elif component.startswith("em:"):
        fields, unit = SHELLY_EM_FIELDS, "power_w"
    else:
        raise FrameError(PROTOCOL, f"topic {topic!r}: not an em/emdata status", field="topic")
    document = _load_json(topic, payload)
    if not isinstance(document, dict):
        raise FrameError(PROTOCOL, f"topic {topic!r}: payload is not an object", field="payload")
    values = [MeterValue(meter_serial, f"{component}.{name}.{unit}",
                         _number(topic, name, document[name]))
              for name in fields if name in document]
    if not values:
        raise FrameError(PROTOCOL, f"topic {topic!r}: none of {fields} present", field=fields[-1])
    return values


MbusKey = tuple[int, int, str, str]
"""(storage number, tariff, quantity, unit) of a data record (EN 13757-3 clause 6.3)."""


def decode_mbus_hex(topic: str, payload: bytes, meter_serial: str,
                    registers: dict[MbusKey, str]) -> list[MeterValue]:
    """A whole RSP_UD long frame as hex text; records whose key is in ``registers``
    become values (records of other storage/tariff/unit are ignored by design)."""
    from firmware_bridge.codecs.mbus import decode_frame

    try:
        frame = bytes.fromhex(payload.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(PROTOCOL, f"topic {topic!r}: payload is not hex: {exc}",
                         field="payload") from exc
    try:
        telegram = decode_frame(frame)
    except FrameError as exc:
        raise FrameError(PROTOCOL, f"topic {topic!r}: {exc}", offset=exc.offset,
                         field=exc.field) from exc
    records = getattr(telegram, "records", None)
    if records is None:
        raise FrameError(PROTOCOL, f"topic {topic!r}: not a variable data response",
                         field="CI")
    values = []
    for record in records:
        name = registers.get((record.storage_number, record.tariff, record.quantity,
                              record.unit))
        if name is not None:
            values.append(MeterValue(meter_serial, name,
                                     _number(topic, name, record.value)))
    return values
