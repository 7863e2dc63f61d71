"""Register semantics: readings of one or more meters become one consumption curve.

A curve point says how much was consumed from the start of the series up to
an instant.  Consumption over any period is then a difference of two curve
values (``period_consumption``), whatever happened in between:

* **Cumulative registers** (meter index, EN 13757-3 "energy"/"volume"): the
  step between two readings is ``value - previous``.  A step down is one of
  three things, told apart by where the values lie:

  - *rollover*: the counter passed its maximum and restarted at zero
    (``rollover_at`` is the value that displays as 0 again, e.g. 100000 for a
    five-digit index).  The previous value lies in the top ``rollover_band``
    of the range and the new one in the bottom band; the step is
    ``value + rollover_at - previous``.
  - *reset*: the counter went back to (near) zero without a rollover (a
    firmware reset, a battery change).  The step is ``value`` (counted from
    zero), flagged, since use between the last reading and the reset is lost.
  - *negative*: anything else (a misread, a swapped meter nobody recorded).
    The step is kept as it is, so later readings still give the right
    difference, and flagged.

* **Interval registers** (load profiles): each value is the use in the
  ``interval`` ending at ``read_at``.  The curve is their running sum,
  starting at zero one interval before the first reading.

* **Meter exchange**: the old meter's readings end with its final reading at
  the exchange instant, the new meter's start with its start reading there.
  The curve takes the final reading as its point at the exchange and
  continues from the new meter's start value, so there is no jump either way
  (old final 5,321.4 → new start 0.0 is neither a reset nor consumption).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from billing_core.consumption.provenance import Flag, FlagKind, Reading
from billing_core.errors import ConsumptionError


class RegisterKind(StrEnum):
    CUMULATIVE = "cumulative"
    INTERVAL = "interval"


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """How to read a register: cumulative or interval, its rollover, the reset rule."""

    kind: RegisterKind = RegisterKind.CUMULATIVE
    rollover_at: Decimal | None = None
    interval: timedelta | None = None
    rollover_band: Decimal = Decimal("0.1")
    reset_ratio: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if self.kind is RegisterKind.INTERVAL and (self.interval is None
                                                   or self.interval <= timedelta(0)):
            raise ConsumptionError("interval register: interval must be a positive duration")
        if self.rollover_at is not None and self.rollover_at <= 0:
            raise ConsumptionError(f"rollover_at = {self.rollover_at}: must be positive")


@dataclass(frozen=True, slots=True)
class MeterSegment:
    """The readings of one physical meter in a chain of exchanges."""

    meter_serial: str
    readings: Sequence[Reading]
    spec: RegisterSpec = RegisterSpec()


@dataclass(frozen=True, slots=True)
class MeterExchange:
    """Old meter's final and new meter's start reading at the exchange instant."""

    exchanged_at: datetime
    old_meter_serial: str
    new_meter_serial: str
    old_final_value: Decimal
    new_start_value: Decimal


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Cumulative consumption ``consumed`` up to ``at``, and the reading it comes from."""

    at: datetime
    consumed: Decimal
    reading: Reading


@dataclass(frozen=True, slots=True)
class ConsumptionCurve:
    """Points in strictly increasing time, plus the register events met on the way."""

    points: tuple[CurvePoint, ...]
    events: tuple[Flag, ...]

    @property
    def meter_serials(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for p in self.points:
            seen.setdefault(p.reading.meter_serial, None)
        return tuple(seen)


def _sorted_unique(readings: Sequence[Reading], serial: str) -> list[Reading]:
    ordered = sorted(readings, key=lambda r: r.read_at)
    for a, b in itertools.pairwise(ordered):
        if a.read_at == b.read_at and a.value != b.value:
            raise ConsumptionError(
                f"meter {serial}: two different readings at {a.read_at.isoformat()} "
                f"({a.value} and {b.value})")
    out: list[Reading] = []
    for r in ordered:
        if r.read_at.tzinfo is None:
            raise ConsumptionError(f"meter {serial}: reading at {r.read_at} has no time zone")
        if not out or out[-1].read_at != r.read_at:
            out.append(r if r.meter_serial else Reading(r.read_at, r.value, serial))
    return out


def _cumulative_step(prev: Reading, cur: Reading, spec: RegisterSpec,
                     events: list[Flag]) -> Decimal:
    step = cur.value - prev.value
    if step >= 0:
        return step
    top = spec.rollover_at
    if (top is not None and prev.value >= top * (1 - spec.rollover_band)
            and cur.value <= top * spec.rollover_band):
        used = cur.value + top - prev.value
        events.append(Flag(FlagKind.ROLLOVER, prev.read_at, cur.read_at,
                           f"counter rolled over at {top}: {prev.value} → {cur.value} "
                           f"counts as {used}", cur.meter_serial,
                           {"rollover_at": str(top), "used": str(used)}))
        return used
    if cur.value <= prev.value * spec.reset_ratio:
        events.append(Flag(FlagKind.RESET, prev.read_at, cur.read_at,
                           f"counter reset: {prev.value} → {cur.value}; use between the two "
                           f"readings counted from zero ({cur.value})", cur.meter_serial,
                           {"previous": str(prev.value), "value": str(cur.value)}))
        return cur.value
    events.append(Flag(FlagKind.NEGATIVE, prev.read_at, cur.read_at,
                       f"counter went back by {-step}: {prev.value} → {cur.value}",
                       cur.meter_serial, {"step": str(step)}))
    return step


def _segment_points(segment: MeterSegment, readings: list[Reading], origin: Decimal,
                    events: list[Flag]) -> list[CurvePoint]:
    spec = segment.spec
    points: list[CurvePoint] = []
    consumed = origin
    if spec.kind is RegisterKind.INTERVAL:
        assert spec.interval is not None
        if readings:
            first = readings[0]
            start = Reading(first.read_at - spec.interval, Decimal(0), segment.meter_serial)
            points.append(CurvePoint(start.read_at, consumed, start))
        for prev, cur in zip([None, *readings], readings, strict=False):
            if prev is not None and cur.read_at - prev.read_at > spec.interval:
                # A missing interval: its use is unknown, the curve stays flat.
                gap_start = Reading(cur.read_at - spec.interval, Decimal(0), segment.meter_serial)
                points.append(CurvePoint(gap_start.read_at, consumed, gap_start))
            if cur.value < 0:
                events.append(Flag(FlagKind.NEGATIVE, cur.read_at - spec.interval, cur.read_at,
                                   f"interval value {cur.value} is negative",
                                   segment.meter_serial, {"value": str(cur.value)}))
            consumed += cur.value
            points.append(CurvePoint(cur.read_at, consumed, cur))
        return points
    for i, cur in enumerate(readings):
        if i:
            consumed += _cumulative_step(readings[i - 1], cur, spec, events)
        points.append(CurvePoint(cur.read_at, consumed, cur))
    return points


def build_curve(segments: Sequence[MeterSegment],
                exchanges: Sequence[MeterExchange] = ()) -> ConsumptionCurve:
    """One curve over a chain of meters; ``exchanges[i]`` joins segments i and i+1."""
    if not segments:
        raise ConsumptionError("no meter readings given")
    if len(exchanges) != len(segments) - 1:
        raise ConsumptionError(
            f"{len(segments)} meters need {len(segments) - 1} exchanges, got {len(exchanges)}")
    events: list[Flag] = []
    points: list[CurvePoint] = []
    for i, segment in enumerate(segments):
        readings = _sorted_unique(segment.readings, segment.meter_serial)
        before = exchanges[i - 1] if i else None
        after = exchanges[i] if i < len(exchanges) else None
        if before is not None:
            if before.new_meter_serial != segment.meter_serial:
                raise ConsumptionError(
                    f"exchange at {before.exchanged_at.isoformat()} names new meter "
                    f"{before.new_meter_serial}, but the chain continues with "
                    f"{segment.meter_serial}")
            start = Reading(before.exchanged_at, before.new_start_value, segment.meter_serial)
            readings = [start, *[r for r in readings if r.read_at > before.exchanged_at]]
        if after is not None:
            if after.old_meter_serial != segment.meter_serial:
                raise ConsumptionError(
                    f"exchange at {after.exchanged_at.isoformat()} names old meter "
                    f"{after.old_meter_serial}, but the chain has {segment.meter_serial}")
            final = Reading(after.exchanged_at, after.old_final_value, segment.meter_serial)
            readings = [*[r for r in readings if r.read_at < after.exchanged_at], final]
        origin = points[-1].consumed if points else Decimal(0)
        seg_points = _segment_points(segment, readings, origin, events)
        if before is not None and seg_points:
            # The start reading sits on the old meter's final point: same instant,
            # same consumption.  Keep the final as the curve's point there.
            seg_points = seg_points[1:]
            events.append(Flag(
                FlagKind.EXCHANGE, before.exchanged_at, before.exchanged_at,
                f"meter {before.old_meter_serial} (final {before.old_final_value}) exchanged "
                f"for {before.new_meter_serial} (start {before.new_start_value})",
                before.new_meter_serial,
                {"old_meter": before.old_meter_serial, "new_meter": before.new_meter_serial,
                 "old_final_value": str(before.old_final_value),
                 "new_start_value": str(before.new_start_value)}))
        if points and seg_points and seg_points[0].at <= points[-1].at:
            raise ConsumptionError(
                f"meter {segment.meter_serial}: readings at {seg_points[0].at.isoformat()} "
                f"overlap the previous meter's")
        points.extend(seg_points)
    if not points:
        raise ConsumptionError(
            f"no readings for meter(s) {', '.join(s.meter_serial for s in segments)}")
    return ConsumptionCurve(tuple(points), tuple(sorted(events, key=lambda f: f.start)))
