"""Billing periods in a building's local time.

A month bills from local midnight on the 1st to local midnight on the 1st of
the next month (end exclusive); in Berlin that is 22:00 or 23:00 UTC, and the
daylight-saving change inside a month is handled by the zone database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import InvalidRequestError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime  # inclusive, timezone-aware
    end: datetime  # exclusive, timezone-aware
    label: str


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequestError(f"unknown time zone {name!r}", field="time_zone") from exc


def month_period(month: str, time_zone: str) -> Period:
    match = _MONTH.match(month)
    if not match:
        raise InvalidRequestError(f"period {month!r} is not YYYY-MM", field="period")
    year, mon = int(match.group(1)), int(match.group(2))
    tz = zone(time_zone)
    start = datetime.combine(date(year, mon, 1), time(), tz)
    end_day = date(year + 1, 1, 1) if mon == 12 else date(year, mon + 1, 1)
    return Period(start, datetime.combine(end_day, time(), tz), month)


def date_period(start: date, end: date, time_zone: str) -> Period:
    """From local midnight of ``start`` to local midnight of ``end`` (exclusive)."""
    if end <= start:
        raise InvalidRequestError(f"end {end} must be after start {start}", field="end")
    tz = zone(time_zone)
    return Period(
        datetime.combine(start, time(), tz), datetime.combine(end, time(), tz), f"{start}..{end}"
    )
