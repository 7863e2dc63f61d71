"""The batch payload: round trip, and every defect named by its JSON path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from gateway.mqtt_payload import (
    BatchAck,
    PayloadError,
    decode_ack,
    decode_batch,
    encode_ack,
    encode_batch,
)
from gateway.reading import Reading
from gateway.uplink import ReadingBatch

T0 = datetime(2026, 3, 1, 0, 15, 0, 123456, tzinfo=UTC)


def batch() -> ReadingBatch:
    return ReadingBatch("gw-1", "1-4", (
        Reading("SDM-1", "energy_import_kwh", T0, Decimal("12345.678")),
        Reading("SDM-2", "energy_import_kwh", T0, Decimal("0.1")),
        Reading("SDM-1", "energy_import_kwh", T0 + timedelta(minutes=15), Decimal("12345.7")),
        Reading("SDM-1", "power_w", T0, Decimal("-1.50E+3")),
    ))


def test_batch_round_trip_keeps_exact_digits_and_microseconds() -> None:
    original = batch()
    decoded = decode_batch(encode_batch(original))
    assert decoded == original
    assert str(decoded.readings[3].value) == "-1.50E+3"  # the meter's digits, not a float


def test_payload_shares_series_and_times_and_sends_values_as_strings() -> None:
    doc = json.loads(encode_batch(batch()))
    assert doc["series"] == [["SDM-1", "energy_import_kwh"], ["SDM-2", "energy_import_kwh"],
                             ["SDM-1", "power_w"]]
    assert doc["times"] == [1772324100123456, 1772325000123456]
    assert doc["readings"] == [[0, 0, "12345.678"], [1, 0, "0.1"], [0, 1, "12345.7"],
                               [2, 0, "-1.50E+3"]]


def _payload(**changes: object) -> bytes:
    doc = json.loads(encode_batch(batch()))
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("payload", "message"), [
    (b"\xff{", r"batch: not UTF-8 at byte 0"),
    (b'{"v": 1, "batch_id": ', r"batch: not JSON at byte \d+"),
    (b"[]", r"\$ must be an object"),
    (_payload(v=2), r"\$\.v must be 1, got 2"),
    (_payload(batch_id=""), r"\$\.batch_id must be a non-empty string"),
    (_payload(series=[["SDM-1"]]), r"batch 1-4: \$\.series\[0\] must be \[serial, register\]"),
    (_payload(times=[1.5]), r"\$\.times\[0\] must be an integer count of microseconds"),
    (_payload(readings=[[0, 0, 12.5]]), r"\$\.readings\[0\] must be \[series index, time index"),
    (_payload(readings=[[0, 0, "1"], [7, 0, "1"]]), r"\$\.readings\[1\]\[0\] = 7: no such series"),
    (_payload(readings=[[0, 9, "1"]]), r"\$\.readings\[0\]\[1\] = 9: no such time"),
    (_payload(readings=[[0, 0, "twelve"]]), r"\$\.readings\[0\]\[2\] = 'twelve': not a decimal"),
    (_payload(readings=[[0, 0, "NaN"]]),
     r"\$\.readings\[0\]\[2\] = 'NaN': value NaN is not a number"),
])
def test_malformed_batch_is_refused_naming_the_path(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        decode_batch(payload)


def test_ack_round_trip() -> None:
    stored = BatchAck("1-4", "stored", received=4, inserted=3, duplicates=1)
    rejected = BatchAck("1-4", "rejected", error="$.readings[0]: bad")
    assert decode_ack(encode_ack(stored)) == stored
    assert decode_ack(encode_ack(rejected)) == rejected
    with pytest.raises(PayloadError, match=r"ack 1-4: \$\.status must be"):
        decode_ack(b'{"v": 1, "batch_id": "1-4", "status": "maybe"}')
