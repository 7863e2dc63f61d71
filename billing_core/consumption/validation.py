"""Validation of a consumption curve: each flagged interval gets its rule and a reason.

Rules (each on the steps between consecutive curve points):

* **stuck**: the register did not move over at least ``stuck_after`` (a
  blocked counter, a dead pulse input, or an empty flat: a person decides).
* **gap**: two readings further apart than ``gap_after``, or, when not set,
  than ``gap_factor`` times the series' median spacing.
* **spike**: a use rate far above the meter's usual one.  The threshold is
  robust, so the spikes themselves do not raise it: the modified z-score of
  Iglewicz and Hoaglin (1993), ``0.6745 (x - median) / MAD``, above
  ``spike_z`` (3.5, their recommendation).  When more than half the steps are
  equal the MAD is 0; the mean absolute deviation (scaled by 1.2533, its
  ratio to σ for a normal distribution) stands in, and a series with no
  spread at all has no spikes.
* **night_flow** (cold and hot water): in every step inside the local night
  window (02:00-05:00 by default) water flowed, the steps covering at least
  80 % of the window.  Nobody draws water all
  night long; a dripping tap or a running cistern does.
* negative steps, resets and rollovers are found while building the curve
  (``register_curve``) and come with it.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from statistics import median
from zoneinfo import ZoneInfo

from billing_core.consumption.provenance import Flag, FlagKind
from billing_core.consumption.register_curve import ConsumptionCurve

WATER_MEDIA = frozenset({"cold_water", "hot_water"})
MAD_TO_Z = Decimal("0.6745")
MEAN_AD_TO_SIGMA = Decimal("1.253314")
_HOUR_S = Decimal(3600)


@dataclass(frozen=True, slots=True)
class ValidationRules:
    stuck_after: timedelta = timedelta(days=7)
    gap_after: timedelta | None = None
    gap_factor: Decimal = Decimal(3)
    spike_z: Decimal = Decimal("3.5")
    min_steps_for_spikes: int = 8
    night_start: time = time(2, 0)
    night_end: time = time(5, 0)
    time_zone: str = "Europe/Berlin"


@dataclass(frozen=True, slots=True)
class _Step:
    start: datetime
    end: datetime
    used: Decimal

    @property
    def hours(self) -> Decimal:
        return Decimal(int((self.end - self.start).total_seconds() * 1_000_000)) / (
            _HOUR_S * 1_000_000)

    @property
    def rate(self) -> Decimal:
        return self.used / self.hours


def _steps(curve: ConsumptionCurve) -> list[_Step]:
    pts = curve.points
    return [_Step(a.at, b.at, b.consumed - a.consumed) for a, b in itertools.pairwise(pts)]


def _serial(curve: ConsumptionCurve) -> str:
    return ", ".join(curve.meter_serials)


def stuck_flags(curve: ConsumptionCurve, rules: ValidationRules) -> list[Flag]:
    flags: list[Flag] = []
    run: list[_Step] = []
    for step in [*_steps(curve), None]:
        if step is not None and step.used == 0:
            run.append(step)
            continue
        if run and run[-1].end - run[0].start >= rules.stuck_after:
            value = next(p.reading.value for p in curve.points if p.at == run[0].start)
            flags.append(Flag(FlagKind.STUCK, run[0].start, run[-1].end,
                              f"register stayed at {value} for {run[-1].end - run[0].start} "
                              f"({len(run) + 1} readings)", _serial(curve),
                              {"value": str(value), "readings": str(len(run) + 1)}))
        run = []
    return flags


def gap_flags(curve: ConsumptionCurve, rules: ValidationRules) -> list[Flag]:
    steps = _steps(curve)
    if not steps:
        return []
    if rules.gap_after is not None:
        limit = rules.gap_after
    else:
        typical = median(s.end - s.start for s in steps)
        limit = typical * float(rules.gap_factor)
    return [Flag(FlagKind.GAP, s.start, s.end,
                 f"no reading for {s.end - s.start} (more than {limit})", _serial(curve),
                 {"limit": str(limit)})
            for s in steps if s.end - s.start > limit]


def spike_flags(curve: ConsumptionCurve, rules: ValidationRules) -> list[Flag]:
    steps = [s for s in _steps(curve) if s.end > s.start]
    if len(steps) < rules.min_steps_for_spikes:
        return []
    rates = [s.rate for s in steps]
    med = median(rates)
    mad = median(abs(r - med) for r in rates)
    if mad > 0:
        scale, basis = mad / MAD_TO_Z, "MAD"
    else:
        mean_ad = sum((abs(r - med) for r in rates), Decimal(0)) / len(rates)
        if mean_ad == 0:
            return []
        scale, basis = mean_ad * MEAN_AD_TO_SIGMA, "mean absolute deviation"
    flags = []
    for s, r in zip(steps, rates, strict=True):
        z = (r - med) / scale
        if z > rules.spike_z:
            flags.append(Flag(FlagKind.SPIKE, s.start, s.end,
                              f"use rate {r:.6g}/h is {z:.3g} robust deviations above the "
                              f"median {med:.6g}/h (threshold {rules.spike_z}, {basis})",
                              _serial(curve),
                              {"rate_per_h": str(r), "median_per_h": str(med),
                               "z": str(z), "scale_basis": basis}))
    return flags


def night_flow_flags(curve: ConsumptionCurve, medium: str,
                     rules: ValidationRules) -> list[Flag]:
    if medium not in WATER_MEDIA:
        return []
    tz = ZoneInfo(rules.time_zone)
    steps = _steps(curve)
    if not steps:
        return []
    flags = []
    starts = [s.start for s in steps]
    day = steps[0].start.astimezone(tz).date()
    last_day = steps[-1].end.astimezone(tz).date()
    while day <= last_day:
        lo = datetime.combine(day, rules.night_start, tz)
        hi = datetime.combine(day, rules.night_end, tz)
        inside = []
        for s in steps[bisect_left(starts, lo):]:
            if s.end > hi:
                break
            inside.append(s)
        # Steps wholly inside the night (so no evening use counts) must cover
        # most of it; one step spanning the night says nothing.
        covered = bool(inside) and (inside[-1].end - inside[0].start) >= (hi - lo) * 0.8
        if covered and len(inside) >= 2 and all(s.used > 0 for s in inside):
            least = min(s.rate for s in inside)
            flags.append(Flag(FlagKind.NIGHT_FLOW, lo, hi,
                              f"water flowed in every interval between {rules.night_start} and "
                              f"{rules.night_end} ({rules.time_zone}), at least {least:.6g}/h: "
                              "leak suspected", _serial(curve),
                              {"min_rate_per_h": str(least), "intervals": str(len(inside))}))
        day += timedelta(days=1)
    return flags


def validate(curve: ConsumptionCurve, medium: str,
             rules: ValidationRules | None = None) -> tuple[Flag, ...]:
    """Every validation flag of a series, register events included, in time order."""
    rules = rules or ValidationRules()
    flags = [*curve.events, *stuck_flags(curve, rules), *gap_flags(curve, rules),
             *spike_flags(curve, rules), *night_flow_flags(curve, medium, rules)]
    return tuple(sorted(flags, key=lambda f: (f.start, str(f.kind))))
