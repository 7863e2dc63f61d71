"""A tenant's consumption by month, with the two comparisons tenants are owed.

HeizkostenV § 6a Abs. 2 (and the EED art. 10a it implements) asks that the
consumption information compare a month with the same month of the previous
year and with a normalized average user; we normalize by area: the building's
sub meters of the same medium, summed per month and divided by the summed
area of their units, times this unit's area (heated area for heat and hot
water, living area otherwise).

A month's consumption is the register at the next month's start edge minus
the register at this month's start edge, each the last reading at or before
the edge within ``EDGE_LOOKBACK`` (the rule the bills use, ``api.units.service``),
so the portal's figures and the bill agree to the digit.  Edges are local
midnights of the building's time zone.  A month without both edges has no
value (``None``), never a zero.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg

from api.units.service import EDGE_LOOKBACK

# The cumulative register that measures each medium (names of firmware_bridge profiles).
MEDIUM_REGISTERS = {
    "electricity": "energy_import_kwh",
    "heat": "energy_heat_kwh",
    "hot_water": "volume_m3",
    "cold_water": "volume_m3",
    "gas": "volume_m3",
}
HEATED_AREA_MEDIA = frozenset({"heat", "hot_water"})
SHOWN_MONTHS = 12


@dataclass(frozen=True, slots=True)
class MonthValue:
    month: date  # first day of the month
    consumption: Decimal | None
    last_year: Decimal | None
    building_avg: Decimal | None


@dataclass(frozen=True, slots=True)
class MeterSeries:
    unit_id: int
    unit_code: str
    meter_serial: str
    medium: str
    register: str
    physical_unit: str
    months: tuple[MonthValue, ...]


def add_months(first_day: date, months: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def reading_months(conn: psycopg.Connection, unit_id: int,
                   time_zone: str) -> tuple[date, date] | None:
    """(first, last) month the unit's meters have readings for, in local time.  A reading
    exactly on an edge closes the month before it: the reading at 1 April 00:00 makes
    March the last month, the one at 1 March 00:00 opens March."""
    row = conn.execute(
        """SELECT date_trunc('month', min(r.read_at) AT TIME ZONE %(tz)s),
                  date_trunc('month', (max(r.read_at) - interval '1 microsecond')
                                      AT TIME ZONE %(tz)s)
             FROM meters m JOIN readings r ON r.meter_id = m.id
            WHERE m.unit_id = %(unit)s""",
        {"tz": time_zone, "unit": unit_id},
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return row[0].date(), max(row[0].date(), row[1].date())


def latest_month(conn: psycopg.Connection, unit_id: int, time_zone: str) -> date | None:
    months = reading_months(conn, unit_id, time_zone)
    return months[1] if months else None


def _edge_values(conn: psycopg.Connection, building_id: int, medium: str, register: str,
                 first_month: date, months: int, time_zone: str
                 ) -> dict[int, list[Decimal | None]]:
    """Register values at ``months + 1`` local month edges for every sub meter of a medium."""
    rows = conn.execute(
        """WITH edges AS (
               SELECT g.i, (%(first)s::timestamp + g.i * interval '1 month') AT TIME ZONE %(tz)s
                      AS edge
                 FROM generate_series(0, %(n)s) AS g(i))
           SELECT m.id, e.i, r.value
             FROM meters m CROSS JOIN edges e
             LEFT JOIN LATERAL (
                  SELECT value FROM readings
                   WHERE meter_id = m.id AND register = %(reg)s
                     AND read_at <= e.edge AND read_at > e.edge - %(lookback)s
                   ORDER BY read_at DESC LIMIT 1) r ON true
            WHERE m.building_id = %(b)s AND m.role = 'sub' AND m.medium = %(medium)s""",
        {"first": first_month, "tz": time_zone, "n": months, "reg": register,
         "lookback": EDGE_LOOKBACK, "b": building_id, "medium": medium},
    ).fetchall()
    values: dict[int, list[Decimal | None]] = defaultdict(lambda: [None] * (months + 1))
    for meter_id, index, value in rows:
        values[int(meter_id)][int(index)] = Decimal(value) if value is not None else None
    return dict(values)


def _steps(edges: list[Decimal | None]) -> list[Decimal | None]:
    """Per-month consumption from edge values; a register going back gives no value."""
    out: list[Decimal | None] = []
    for a, b in itertools.pairwise(edges):
        out.append(b - a if a is not None and b is not None and b >= a else None)
    return out


def unit_series(conn: psycopg.Connection, unit_id: int, time_zone: str,
                last_month: date | None = None, months: int = SHOWN_MONTHS
                ) -> list[MeterSeries]:
    """Each of the unit's meters: ``months`` months up to ``last_month`` with comparisons."""
    last_month = last_month or latest_month(conn, unit_id, time_zone)
    if last_month is None:
        return []
    meters = conn.execute(
        """SELECT m.id, m.serial, m.medium, m.physical_unit, u.code, u.building_id
             FROM meters m JOIN units u ON u.id = m.unit_id
            WHERE m.unit_id = %s AND m.medium = ANY(%s) ORDER BY m.medium, m.serial""",
        (unit_id, list(MEDIUM_REGISTERS)),
    ).fetchall()
    if not meters:
        return []
    building_id = int(meters[0][5])
    areas = {int(r[0]): (Decimal(r[1]), Decimal(r[2])) for r in conn.execute(
        "SELECT id, living_area_m2, heated_area_m2 FROM units WHERE building_id = %s",
        (building_id,)).fetchall()}
    unit_of_meter = {int(r[0]): int(r[1]) for r in conn.execute(
        "SELECT id, unit_id FROM meters WHERE building_id = %s AND role = 'sub'",
        (building_id,)).fetchall()}
    first_shown = add_months(last_month, -(months - 1))
    first_edge = add_months(first_shown, -12)  # a year before, for the comparison
    span = months + 12
    result = []
    for meter_id, serial, medium, physical_unit, unit_code, _ in meters:
        register = MEDIUM_REGISTERS[medium]
        edges = _edge_values(conn, building_id, medium, register, first_edge, span, time_zone)
        steps = {mid: _steps(vals) for mid, vals in edges.items()}
        area_index = 1 if medium in HEATED_AREA_MEDIA else 0
        own_area = areas[unit_id][area_index]
        own = steps.get(int(meter_id), [None] * span)
        values = []
        for i in range(12, span):
            used = [(s[i], areas[unit_of_meter[mid]][area_index]) for mid, s in steps.items()
                    if s[i] is not None and mid in unit_of_meter]
            total_area = sum((a for _, a in used), Decimal(0))
            avg = (sum((v for v, _ in used), Decimal(0)) / total_area * own_area
                   if used and total_area > 0 else None)
            values.append(MonthValue(add_months(first_edge, i), own[i], own[i - 12], avg))
        result.append(MeterSeries(unit_id, str(unit_code), str(serial), str(medium), register,
                                  str(physical_unit), tuple(_trim(values))))
    return result


def _trim(values: list[MonthValue]) -> list[MonthValue]:
    """Drop leading months where nothing was measured yet (a new building, a new tenant)."""
    for start, v in enumerate(values):
        if v.consumption is not None or v.last_year is not None:
            return values[start:]
    return values[-1:]
