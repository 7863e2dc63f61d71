"""Consumption for any period, valued at its edges, with linear interpolation to the cut-off.

Bills need the consumption between two cut-off dates (Stichtage: the
billing period's ends, a tenant's move-in and move-out) on which, as a rule,
no meter was read.  The value at an edge is then interpolated linearly in
time between the last reading before and the first reading after it; with a
reading exactly on the edge, that reading is used.  (For heating at a tenant
change without an interim reading, HeizkostenV §9b (2) prescribes splitting
by degree days rather than by time: that weighting belongs to the caller and
is not done here; the method recorded says "linear_interpolation".)
Interpolation happens on the consumption curve (see ``register_curve``), so
it also works across a rollover or an exchange.  No
extrapolation: an edge outside the readings is not a measurement and goes to
estimation (``estimation``), which is flagged.

Interpolated values are rounded to ``EDGE_PLACES`` (half to even); the
readings themselves stay exact.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from billing_core.consumption.provenance import EdgeMethod, EdgeValue, Flag, Provenance, Reading
from billing_core.consumption.register_curve import ConsumptionCurve
from billing_core.errors import ConsumptionError

EDGE_PLACES = Decimal("0.000001")
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class PeriodConsumption:
    """Use over [start, end) with how each edge was valued and the flags that touch it."""

    start: datetime
    end: datetime
    quantity: Decimal
    method: str
    start_edge: EdgeValue
    end_edge: EdgeValue
    flags: tuple[Flag, ...]
    estimated: bool = False

    @property
    def provenance(self) -> Provenance:
        readings: dict[tuple[str, datetime], Reading] = {}
        for edge in (self.start_edge, self.end_edge):
            for r in edge.readings:
                readings[(r.meter_serial, r.read_at)] = r
        return Provenance(method=self.method,
                          readings=tuple(sorted(readings.values(), key=lambda r: r.read_at)),
                          edges=(self.start_edge, self.end_edge), flags=self.flags)


def value_at(curve: ConsumptionCurve, at: datetime,
             max_span: timedelta | None = None) -> EdgeValue:
    """The curve's value at ``at``: the reading on it, or linear interpolation around it."""
    if at.tzinfo is None:
        raise ConsumptionError(f"edge {at} has no time zone")
    times = [p.at for p in curve.points]
    i = bisect_left(times, at)
    serials = ", ".join(curve.meter_serials)
    if i < len(times) and times[i] == at:
        p = curve.points[i]
        return EdgeValue(at, p.consumed, EdgeMethod.READING_ON_EDGE, p.reading, p.reading)
    if i == 0 or i == len(times):
        side = "before" if i == 0 else "after"
        raise ConsumptionError(
            f"meter {serials}: no reading {side} {at.isoformat()} to interpolate from "
            f"(readings span {times[0].isoformat()} .. {times[-1].isoformat()}); "
            "estimate the consumption instead (HeizkostenV §9a)")
    p0, p1 = curve.points[i - 1], curve.points[i]
    if max_span is not None and p1.at - p0.at > max_span:
        raise ConsumptionError(
            f"meter {serials}: readings around {at.isoformat()} are "
            f"{p1.at - p0.at} apart ({p0.at.isoformat()} .. {p1.at.isoformat()}), more than "
            f"the {max_span} allowed for interpolation")
    # Whole microseconds, so the fraction is exact before the one rounding.
    fraction = Decimal((at - p0.at) // _MICRO) / Decimal((p1.at - p0.at) // _MICRO)
    consumed = (p0.consumed + (p1.consumed - p0.consumed) * fraction).quantize(
        EDGE_PLACES, rounding=ROUND_HALF_EVEN)
    return EdgeValue(at, consumed, EdgeMethod.LINEAR_INTERPOLATION, p0.reading, p1.reading)


def period_consumption(curve: ConsumptionCurve, start: datetime, end: datetime,
                       flags: tuple[Flag, ...] = (),
                       max_span: timedelta | None = None) -> PeriodConsumption:
    """Consumption between two instants: end value minus start value on the curve.

    ``flags`` are validation flags of the same series (``validation.validate``);
    those overlapping the period, and every register event inside it
    (rollover, reset, exchange, negative step), go into the provenance.
    """
    if end <= start:
        raise ConsumptionError(f"period {start.isoformat()} .. {end.isoformat()} is empty")
    a = value_at(curve, start, max_span)
    b = value_at(curve, end, max_span)
    both_read = (a.method is EdgeMethod.READING_ON_EDGE
                 and b.method is EdgeMethod.READING_ON_EDGE)
    method = "readings_on_edges" if both_read else "linear_interpolation"
    touching: list[Flag] = []
    for f in sorted((*curve.events, *flags), key=lambda f: (f.start, str(f.kind))):
        inside = (start <= f.start < end) if f.start == f.end else (f.start < end
                                                                      and f.end > start)
        if inside and f not in touching:
            touching.append(f)
    return PeriodConsumption(start, end, b.consumed - a.consumed, method, a, b,
                             tuple(touching))
