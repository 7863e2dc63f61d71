"""Occupancy inside a billing period: days, time shares and degree-day shares.

When a user moves in or out inside the period, his part of a time-based key
(area, persons, households) is the share of days he used the unit (§ 556a BGB
practice, and HeizkostenV § 9b Abs. 2 "zeitanteilig" for the fixed hot-water
costs).  For the fixed *heating* costs § 9b Abs. 2 allows the degree-day shares
of VDI 2067 Blatt 1 Tab. 22 instead, because a January day costs far more heat
than a July day.  A partial month counts by days: monthly ‰ × days used / days
in that month (leap-year February: 29 days), as described by the sources in
``heizkostenv_9b_degree_days.csv`` (practice, not law text).

All dates are inclusive; all shares are exact ``Fraction``.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from fractions import Fraction
from typing import Literal

from billing_core.errors import AllocationError
from billing_core.rule_tables import degree_day_months

SummerSplit = Literal["per_month", "per_summer_day"]
"""How the table's single 40 ‰ for June–August is spread.

``per_month``: 40/3 ‰ per month, then by the days of that month (regiomess.de);
``per_summer_day``: 40 ‰ evenly over the 92 summer days (immothek24.com).
"""


def days_inclusive(start: date, end: date) -> int:
    """Number of days from ``start`` to ``end``, both included."""
    if end < start:
        raise AllocationError(
            f"period {start.isoformat()}..{end.isoformat()} ends before it starts")
    return (end - start).days + 1


def overlap(
    start: date, end: date, period_start: date, period_end: date
) -> tuple[date, date] | None:
    """The part of ``start..end`` inside the period, or None."""
    lo, hi = max(start, period_start), min(end, period_end)
    return (lo, hi) if lo <= hi else None


def time_share(start: date, end: date, period_start: date, period_end: date) -> Fraction:
    """Days of ``start..end`` inside the period / days of the period."""
    part = overlap(start, end, period_start, period_end)
    if part is None:
        return Fraction(0)
    return Fraction(days_inclusive(*part), days_inclusive(period_start, period_end))


def _month_ranges(start: date, end: date):
    day = start
    while day <= end:
        last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        upto = min(last, end)
        yield day.year, day.month, days_inclusive(day, upto)
        day = upto + timedelta(days=1)


def degree_day_permille(start: date, end: date, summer: SummerSplit = "per_month") -> Fraction:
    """Per-mille of the annual heating demand that falls on ``start..end`` (VDI 2067)."""
    table = {m.month: m.permille for m in degree_day_months()}
    summer_total = table[6] + table[7] + table[8]
    total = Fraction(0)
    for year, month, used in _month_ranges(start, end):
        if summer == "per_summer_day" and month in (6, 7, 8):
            total += summer_total * used / 92
            continue
        month_days = calendar.monthrange(year, month)[1]
        total += table[month] * used / month_days
    return total


def degree_day_share(
    start: date,
    end: date,
    period_start: date,
    period_end: date,
    summer: SummerSplit = "per_month",
) -> Fraction:
    """Degree-day share of ``start..end`` in the billing period (§ 9b Abs. 2).

    For a calendar-year period the denominator is 1000 ‰, so 100 m² used only in
    January count as 100 × 170/1000 = 17 m².
    """
    part = overlap(start, end, period_start, period_end)
    if part is None:
        return Fraction(0)
    whole = degree_day_permille(period_start, period_end, summer)
    return degree_day_permille(*part, summer) / whole
