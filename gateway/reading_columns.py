"""Readings as tables: each series and each instant once, rows by index.

The shape of an MQTT batch payload (``gateway.mqtt_payload``) and an input of
the readings writer (``write_columns``).  An ingest worker goes from payload
to COPY without making a ``Reading`` object per row: at 100k readings per
batch, building and checking those objects cost as much as decoding the JSON.

Invariants (``mqtt_payload.decode_columns`` checks them on untrusted input;
``from_readings`` has them by construction): every row's indexes are in
range, every time is UTC-aware, every value is a finite Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from gateway.reading import Reading


@dataclass(frozen=True, slots=True)
class ReadingColumns:
    series: tuple[tuple[str, str], ...]  # (meter_serial, register)
    times: tuple[datetime, ...]
    rows: tuple[tuple[int, int, Decimal], ...]  # (series index, time index, value)

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def from_readings(cls, readings: Iterable[Reading]) -> ReadingColumns:
        series: dict[tuple[str, str], int] = {}
        times: dict[datetime, int] = {}
        rows = tuple((series.setdefault((r.meter_serial, r.register), len(series)),
                      times.setdefault(r.read_at, len(times)), r.value) for r in readings)
        return cls(tuple(series), tuple(times), rows)

    def readings(self) -> tuple[Reading, ...]:
        series, times = self.series, self.times
        return tuple(Reading(*series[s], times[t], value) for s, t, value in self.rows)
