"""A batch of readings as an MQTT payload, and the ingest worker's answer to it.

Pure: bytes in, dataclasses out, no sockets or clocks.  Both ends of the MQTT
uplink use this module, so the wire format is defined in one place.

Batch (topic ``meterbill/<prefix>/ingest/<gateway_id>``), UTF-8 JSON::

    {"v": 1,
     "gateway_id": "gw-basement-12",
     "batch_id": "1001-1500",
     "series": [["SDM-007-001", "energy_import_kwh"], …],   # distinct (serial, register)
     "times": [1772323200000000, …],                        # distinct read_at, µs since
                                                            #   1970-01-01T00:00:00Z
     "readings": [[0, 0, "12345.678"], …]}                  # [series index, time index, value]

Why this shape:

* **JSON, not a binary format**: it is readable with ``mosquitto_sub``, needs
  no dependency on either side, and ``json`` decodes it in C.  The series and
  times tables make it compact anyway: a gateway polls many meters at one
  instant and each meter for many instants, so a reading costs two small
  integers and its value (about 20 bytes) instead of repeating serial, register
  and an ISO timestamp (about 80).
* **Values are decimal strings**: a JSON number is a binary float to most
  decoders (``0.1`` is not 0.1), while ``readings.value`` keeps exactly the
  digits the meter reported (see ``0002_readings.sql``).  A number where a
  string is expected is refused, not rounded.
* **Times are integer microseconds**, the resolution of ``timestamptz``;
  below 2**53, so exact in any JSON decoder, and unambiguous in time zone.

Answer (topic ``meterbill/<prefix>/ack/<gateway_id>``)::

    {"v": 1, "batch_id": "1001-1500", "status": "stored",
     "received": 500, "inserted": 498, "duplicates": 2, "quarantined": 0}
    {"v": 1, "batch_id": "1001-1500", "status": "rejected", "error": "readings[3][2]: …"}
    {"v": 1, "batch_id": "1001-1500", "status": "retry", "error": "database unavailable: …"}

``stored`` is sent only after the transaction committed; ``rejected`` means
the batch can never be stored as sent (malformed); ``retry`` means it was not
stored this time (database unreachable) and may be sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from gateway.errors import GatewayError
from gateway.reading_columns import ReadingColumns
from gateway.uplink import ReadingBatch

FORMAT_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIME_US = 2**53 - 1

AckStatus = Literal["stored", "rejected", "retry"]


class PayloadError(GatewayError, ValueError):
    """An MQTT payload is not a valid batch or answer; the message gives the JSON path."""


@dataclass(frozen=True, slots=True)
class BatchAck:
    """The ingest worker's answer to one batch."""

    batch_id: str
    status: AckStatus
    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str = ""


def _time_us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_batch(batch: ReadingBatch) -> bytes:
    """Encode ``batch`` as the documented JSON payload."""
    columns = ReadingColumns.from_readings(batch.readings)
    doc = {
        "v": FORMAT_VERSION,
        "gateway_id": batch.gateway_id,
        "batch_id": batch.batch_id,
        "series": columns.series,
        "times": [_time_us(at) for at in columns.times],
        "readings": [(s, t, str(value)) for s, t, value in columns.rows],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _load_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(payload)
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{what}: not UTF-8 at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{what}: not JSON at byte {exc.pos}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise PayloadError(f"{what}: $ must be an object, got {type(doc).__name__}")
    if doc.get("v") != FORMAT_VERSION:
        raise PayloadError(f"{what}: $.v must be {FORMAT_VERSION}, got {doc.get('v')!r}")
    return doc


def _text(doc: dict[str, Any], key: str, what: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{what}: $.{key} must be a non-empty string, got {value!r}")
    return value


def _array(doc: dict[str, Any], key: str, what: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise PayloadError(f"{what}: $.{key} must be an array, got {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A batch payload decoded to columns (what an ingest worker writes)."""

    gateway_id: str
    batch_id: str
    columns: ReadingColumns

    def to_batch(self) -> ReadingBatch:
        return ReadingBatch(self.gateway_id, self.batch_id, self.columns.readings())


def decode_batch(payload: bytes) -> ReadingBatch:
    """Decode and validate a batch payload; any defect raises PayloadError naming its path."""
    return decode_columns(payload).to_batch()


def decode_columns(payload: bytes) -> DecodedBatch:
    """Decode and validate a batch payload into columns, without a Reading per row."""
    doc = _load_object(payload, "batch")
    gateway_id = _text(doc, "gateway_id", "batch")
    batch_id = _text(doc, "batch_id", "batch")
    where = f"batch {batch_id}"
    series: list[tuple[str, str]] = []
    for i, item in enumerate(_array(doc, "series", where)):
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(part, str) and part for part in item)):
            raise PayloadError(f"{where}: $.series[{i}] must be [serial, register] "
                               f"(non-empty strings), got {item!r}")
        series.append((item[0], item[1]))
    times: list[datetime] = []
    for i, item in enumerate(_array(doc, "times", where)):
        if type(item) is not int or not 0 <= item <= _MAX_TIME_US:
            raise PayloadError(f"{where}: $.times[{i}] must be an integer count of "
                               f"microseconds since 1970-01-01Z, got {item!r}")
        times.append(_EPOCH + timedelta(microseconds=item))
    raw_rows = _array(doc, "readings", where)
    try:
        rows = _fast_rows(raw_rows, len(series), len(times))
    except (TypeError, ValueError, InvalidOperation, IndexError):
        _find_bad_row(raw_rows, len(series), len(times), where)
        raise  # _find_bad_row always raises; this keeps type checkers content
    return DecodedBatch(gateway_id, batch_id, ReadingColumns(tuple(series), tuple(times), rows))


def _fast_rows(raw_rows: list[Any], n_series: int, n_times: int,
               ) -> tuple[tuple[int, int, Decimal], ...]:
    """The valid case at full speed; any doubt raises and ``_find_bad_row`` says where."""
    rows = tuple((s, t, Decimal(text)) for s, t, text in raw_rows
                 if type(s) is int and type(t) is int and type(text) is str
                 and 0 <= s < n_series and 0 <= t < n_times)
    if len(rows) != len(raw_rows) or not all(v.is_finite() for _, _, v in rows):
        raise ValueError("a row is not valid")
    return rows


def _find_bad_row(rows: list[Any], n_series: int, n_times: int, where: str) -> None:
    """Raise PayloadError for the first invalid row, naming its JSON path."""
    for i, row in enumerate(rows):
        try:
            s, t, text = row
            if type(s) is not int or type(t) is not int or type(text) is not str:
                raise TypeError
        except (TypeError, ValueError):
            raise PayloadError(f"{where}: $.readings[{i}] must be [series index, time index, "
                               f"\"decimal\"], got {row!r}") from None
        if not 0 <= s < n_series:
            raise PayloadError(f"{where}: $.readings[{i}][0] = {s}: no such series "
                               f"(have {n_series})")
        if not 0 <= t < n_times:
            raise PayloadError(f"{where}: $.readings[{i}][1] = {t}: no such time (have {n_times})")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise PayloadError(f"{where}: $.readings[{i}][2] = {text!r}: not a decimal") from None
        if not value.is_finite():
            raise PayloadError(f"{where}: $.readings[{i}][2] = {text!r}: value {value} "
                               "is not a number")
    raise PayloadError(f"{where}: $.readings: invalid")  # not reached: some row was bad


def encode_ack(ack: BatchAck) -> bytes:
    doc: dict[str, Any] = {"v": FORMAT_VERSION, "batch_id": ack.batch_id, "status": ack.status}
    if ack.status == "stored":
        doc.update(received=ack.received, inserted=ack.inserted, duplicates=ack.duplicates,
                   quarantined=ack.quarantined)
    else:
        doc["error"] = ack.error
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_ack(payload: bytes) -> BatchAck:
    doc = _load_object(payload, "ack")
    batch_id = _text(doc, "batch_id", "ack")
    status = doc.get("status")
    if status not in ("stored", "rejected", "retry"):
        raise PayloadError(f"ack {batch_id}: $.status must be stored, rejected or retry, "
                           f"got {status!r}")
    if status != "stored":
        return BatchAck(batch_id, status, error=str(doc.get("error", "")))
    counts = {}
    for key in ("received", "inserted", "duplicates", "quarantined"):
        value = doc.get(key)
        if type(value) is not int or value < 0:
            raise PayloadError(f"ack {batch_id}: $.{key} must be a count, got {value!r}")
        counts[key] = value
    return BatchAck(batch_id, "stored", **counts)
