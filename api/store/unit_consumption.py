"""A unit's consumption over a period from edge readings and the daily rollup, with provenance.

The hot query.  For each meter of the unit (a chain when meters were
exchanged), the store reads:

1. around each period edge, the last reading at or before it and the first
   at or after it, each looked for within ``EDGE_WINDOW`` — a primary-key
   range scan on one or two monthly partitions (tests assert the pruning
   on EXPLAIN);
2. between the edges, one point per day from ``readings_daily``
   (``last_at``, ``last_value``), so a rollover, reset or step back inside
   the period is seen without reading every raw row;
3. when no raw reading lies within the window of an edge, the nearest day in
   ``readings_daily`` on that side, then its reading by primary key.

``billing_core.consumption`` then builds the curve (rollover, exchange),
interpolates to the edges and returns the figure with its provenance;
``store_figure`` keeps it with its flags.  Compared with
``api.units.service.meter_period`` (last reading at or before each edge),
this values the cut-off by linear interpolation and crosses exchanges and
rollovers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from api.errors import NotFoundError
from billing_core.consumption import (
    EstimatedConsumption,
    Flag,
    FlagKind,
    MeterExchange,
    MeterSegment,
    PeriodConsumption,
    Reading,
    RegisterKind,
    RegisterSpec,
    ValidationRules,
    build_curve,
    period_consumption,
    validate,
)

EDGE_WINDOW = timedelta(days=31)

# The hot queries; tests/store/test_query_plans.py runs EXPLAIN on these texts.
EDGE_BEFORE_SQL = """SELECT read_at, value FROM readings
 WHERE meter_id = %s AND register = %s AND read_at <= %s AND read_at > %s
 ORDER BY read_at DESC LIMIT 1"""
EDGE_AFTER_SQL = """SELECT read_at, value FROM readings
 WHERE meter_id = %s AND register = %s AND read_at >= %s AND read_at < %s
 ORDER BY read_at LIMIT 1"""
INNER_POINTS_SQL = """SELECT last_at, last_value FROM readings_daily
 WHERE meter_id = %s AND register = %s AND bucket >= %s::timestamptz - INTERVAL '1 day'
   AND bucket < %s AND last_at > %s AND last_at < %s
 ORDER BY bucket"""
PERIOD_READINGS_SQL = """SELECT read_at, value FROM readings
 WHERE meter_id = %s AND register = %s AND read_at >= %s AND read_at < %s
 ORDER BY read_at"""


@dataclass(frozen=True, slots=True)
class ChainMeter:
    meter_id: int
    serial: str
    physical_unit: str
    building_id: int


@dataclass(frozen=True, slots=True)
class UnitConsumption:
    unit_id: int | None
    medium: str
    register: str
    physical_unit: str
    meters: tuple[ChainMeter, ...]
    figure: PeriodConsumption


def meter_chain(conn: psycopg.Connection, unit_id: int, medium: str
                ) -> tuple[list[ChainMeter], list[MeterExchange]]:
    """The unit's meters of a medium in installation order, and the exchanges joining them."""
    rows = conn.execute(
        """SELECT id, serial, physical_unit, building_id FROM meters
            WHERE unit_id = %s AND medium = %s
            ORDER BY installed_on NULLS FIRST, id""", (unit_id, medium)).fetchall()
    if not rows:
        if conn.execute("SELECT 1 FROM units WHERE id = %s", (unit_id,)).fetchone() is None:
            raise NotFoundError(f"unit {unit_id} not found")
        raise NotFoundError(f"unit {unit_id} has no {medium} meter")
    meters = [ChainMeter(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]
    ids = [m.meter_id for m in meters]
    serial = {m.meter_id: m.serial for m in meters}
    ex_rows = conn.execute(
        """SELECT old_meter_id, new_meter_id, exchanged_at, old_final_value, new_start_value
             FROM meter_exchanges
            WHERE old_meter_id = ANY(%s) AND new_meter_id = ANY(%s)
            ORDER BY exchanged_at""", (ids, ids)).fetchall()
    exchanges = [MeterExchange(r[2], serial[r[0]], serial[r[1]], Decimal(r[3]), Decimal(r[4]))
                 for r in ex_rows]
    # Order the chain by the exchanges: the meter nobody replaced comes last.
    if exchanges:
        order = [exchanges[0].old_meter_serial, *(e.new_meter_serial for e in exchanges)]
        by_serial = {m.serial: m for m in meters}
        meters = [by_serial[s] for s in order]
    elif len(meters) > 1:
        # Several meters without a recorded exchange: the newest one counts.
        meters = meters[-1:]
    return meters, exchanges


def _reading(row: tuple | None, serial: str) -> Reading | None:
    return Reading(row[0], Decimal(row[1]), serial) if row else None


def _edge_readings(conn: psycopg.Connection, meter: ChainMeter, register: str,
                   edge: datetime) -> list[Reading]:
    before = conn.execute(EDGE_BEFORE_SQL, (meter.meter_id, register, edge,
                                            edge - EDGE_WINDOW)).fetchone()
    after = conn.execute(EDGE_AFTER_SQL, (meter.meter_id, register, edge,
                                          edge + EDGE_WINDOW)).fetchone()
    if before is None:
        before = conn.execute(
            """SELECT last_at, last_value FROM readings_daily
                WHERE meter_id = %s AND register = %s AND bucket <= %s AND last_at <= %s
                ORDER BY bucket DESC LIMIT 1""",
            (meter.meter_id, register, edge, edge)).fetchone()
    if after is None:
        after = conn.execute(
            """SELECT first_at, first_value FROM readings_daily
                WHERE meter_id = %s AND register = %s
                  AND bucket >= %s::timestamptz - INTERVAL '1 day' AND first_at >= %s
                ORDER BY bucket LIMIT 1""",
            (meter.meter_id, register, edge, edge)).fetchone()
    return [r for r in (_reading(before, meter.serial), _reading(after, meter.serial))
            if r is not None]


def _inner_points(conn: psycopg.Connection, meter: ChainMeter, register: str,
                  start: datetime, end: datetime) -> list[Reading]:
    rows = conn.execute(INNER_POINTS_SQL,
                        (meter.meter_id, register, start, end, start, end)).fetchall()
    return [Reading(r[0], Decimal(r[1]), meter.serial) for r in rows]


def meter_consumption(conn: psycopg.Connection, meters: list[ChainMeter],
                      exchanges: list[MeterExchange], register: str, start: datetime,
                      end: datetime, spec: RegisterSpec | None = None,
                      flags: tuple[Flag, ...] = ()) -> PeriodConsumption:
    """Consumption of a meter chain over [start, end), edges interpolated.

    Interval registers (load profiles) are summed, so they need every value
    in the period: their raw readings are read (the months of the period
    only); the rollups' first/last values say nothing about a sum.
    """
    spec = spec or RegisterSpec()
    segments = []
    for meter in meters:
        found: dict[datetime, Reading] = {}
        if spec.kind is RegisterKind.INTERVAL:
            assert spec.interval is not None
            rows = conn.execute(PERIOD_READINGS_SQL, (meter.meter_id, register, start,
                                                      end + spec.interval)).fetchall()
            points = [Reading(r[0], Decimal(r[1]), meter.serial) for r in rows]
        else:
            points = [*_edge_readings(conn, meter, register, start),
                      *_inner_points(conn, meter, register, start, end),
                      *_edge_readings(conn, meter, register, end)]
        for r in points:
            found[r.read_at] = r
        segments.append(MeterSegment(meter.serial, sorted(found.values(),
                                                          key=lambda r: r.read_at), spec))
    curve = build_curve(segments, exchanges)
    return period_consumption(curve, start, end, flags)


def unit_consumption(conn: psycopg.Connection, unit_id: int, start: datetime, end: datetime,
                     medium: str = "electricity", register: str = "energy_import_kwh",
                     spec: RegisterSpec | None = None) -> UnitConsumption:
    """A unit's consumption of one medium over [start, end), with provenance.

    Validation flags already stored for the unit's meters (``validate_meter``)
    that overlap the period go into the figure's provenance.
    """
    meters, exchanges = meter_chain(conn, unit_id, medium)
    flags = stored_flags(conn, [m.meter_id for m in meters], register, start, end)
    figure = meter_consumption(conn, meters, exchanges, register, start, end, spec, flags)
    return UnitConsumption(unit_id, medium, register, meters[-1].physical_unit,
                           tuple(meters), figure)


def stored_flags(conn: psycopg.Connection, meter_ids: list[int], register: str,
                 start: datetime, end: datetime) -> tuple[Flag, ...]:
    rows = conn.execute(
        """SELECT f.kind, f.interval_start, f.interval_end, f.reason, m.serial, f.details
             FROM consumption_flags f JOIN meters m ON m.id = f.meter_id
            WHERE f.meter_id = ANY(%s) AND f.register = %s
              AND f.interval_start < %s AND f.interval_end >= %s
            ORDER BY f.interval_start, f.kind""", (meter_ids, register, end, start)).fetchall()
    return tuple(Flag(FlagKind(r[0]), r[1], r[2], str(r[3]), str(r[4]),
                      {str(k): str(v) for k, v in dict(r[5]).items()}) for r in rows)


def validate_meter(conn: psycopg.Connection, meter_id: int, register: str, start: datetime,
                   end: datetime, rules: ValidationRules | None = None,
                   spec: RegisterSpec | None = None) -> tuple[Flag, ...]:
    """Validate a meter's raw readings in [start, end) and store the flags (idempotent).

    Default rules are ``ValidationRules()`` in the building's time zone.
    """
    row = conn.execute("SELECT m.serial, m.medium, b.time_zone FROM meters m"
                       " JOIN buildings b ON b.id = m.building_id WHERE m.id = %s",
                       (meter_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"meter {meter_id} not found")
    serial, medium = str(row[0]), str(row[1])
    # The night of the night-flow rule is the building's local night.
    rules = rules or ValidationRules(time_zone=str(row[2]))
    rows = conn.execute(PERIOD_READINGS_SQL, (meter_id, register, start, end)).fetchall()
    if not rows:
        return ()
    curve = build_curve([MeterSegment(serial, [Reading(r[0], Decimal(r[1]), serial)
                                               for r in rows], spec or RegisterSpec())])
    flags = validate(curve, medium, rules)
    for flag in flags:
        store_flag(conn, meter_id, register, flag)
    return flags


def store_flag(conn: psycopg.Connection, meter_id: int, register: str, flag: Flag) -> int:
    """Insert or refresh one flag (unique per meter, register, rule and interval); its id."""
    row = conn.execute(
        """INSERT INTO consumption_flags
               (meter_id, register, interval_start, interval_end, kind, reason, details)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (meter_id, register, kind, interval_start, interval_end)
           DO UPDATE SET reason = EXCLUDED.reason, details = EXCLUDED.details
           RETURNING id""",
        (meter_id, register, flag.start, flag.end, str(flag.kind), flag.reason,
         json.dumps(flag.details))).fetchone()
    assert row is not None
    return int(row[0])


def store_figure(conn: psycopg.Connection, result: UnitConsumption) -> int:
    """Keep a unit's consumption figure, its provenance and its flags; returns the figure id."""
    figure = result.figure
    meter_ids = {m.serial: m.meter_id for m in result.meters}
    row = conn.execute(
        """INSERT INTO consumption_figures
               (building_id, unit_id, meter_id, medium, register, period_start, period_end,
                quantity, physical_unit, method, estimated, provenance)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (result.meters[-1].building_id, result.unit_id, result.meters[-1].meter_id,
         result.medium, result.register, figure.start, figure.end, figure.quantity,
         result.physical_unit, figure.method, figure.estimated,
         json.dumps(figure.provenance.as_dict()))).fetchone()
    assert row is not None
    figure_id = int(row[0])
    for flag in figure.flags:
        meter_id = meter_ids.get(flag.meter_serial, result.meters[-1].meter_id)
        flag_id = store_flag(conn, meter_id, result.register, flag)
        conn.execute("INSERT INTO consumption_figure_flags (figure_id, flag_id) VALUES (%s, %s)"
                     " ON CONFLICT DO NOTHING", (figure_id, flag_id))
    return figure_id


def store_estimate(conn: psycopg.Connection, building_id: int, unit_id: int, medium: str,
                   register: str, physical_unit: str, estimate: EstimatedConsumption) -> int:
    """Keep an estimated figure (HeizkostenV §9a); ``estimated`` is set and the basis kept."""
    row = conn.execute(
        """INSERT INTO consumption_figures
               (building_id, unit_id, medium, register, period_start, period_end, quantity,
                physical_unit, method, estimated, provenance)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s) RETURNING id""",
        (building_id, unit_id, medium, register, estimate.start, estimate.end,
         estimate.quantity, physical_unit, estimate.provenance.method,
         json.dumps(estimate.provenance.as_dict()))).fetchone()
    assert row is not None
    return int(row[0])


MONTHLY_BY_UNIT_SQL = """
SELECT unit_id, month, medium, register, consumption
  FROM unit_monthly_consumption
 WHERE month >= %s AND month < %s
 ORDER BY unit_id, month, medium, register"""


def monthly_consumption_by_unit(conn: psycopg.Connection, start: datetime, end: datetime
                                ) -> list[tuple[int, datetime, str, str, Decimal | None]]:
    """Per unit and UTC month, from the monthly rollup (``unit_monthly_consumption``)."""
    rows = conn.execute(MONTHLY_BY_UNIT_SQL, (start, end)).fetchall()
    return [(int(r[0]), r[1], str(r[2]), str(r[3]), r[4]) for r in rows]
