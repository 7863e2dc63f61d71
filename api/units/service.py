"""Queries about units: the list, a unit's readings, its consumption over a period.

Edge values: the value of a cumulative register at a period edge is its last
reading at or before the edge, looked for within ``EDGE_LOOKBACK`` so the
query touches one or two monthly partitions.  (Interpolation to the cut-off
date belongs to the consumption engine; until then ``method`` says
``last_reading_at_or_before_edge``.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from api.errors import NotFoundError
from api.units.schemas import ConsumptionPublic, ReadingPublic, UnitPublic
from billing_core.errors import ConsumptionError
from billing_core.submetered_electricity import MeterPeriod

EDGE_LOOKBACK = timedelta(days=7)
ENERGY_REGISTER = "energy_import_kwh"
EDGE_METHOD = "last_reading_at_or_before_edge"


def list_units(conn: psycopg.Connection) -> list[UnitPublic]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT u.id, u.code, u.name, u.building_id, b.code AS building_code,
                      u.living_area_m2, u.heated_area_m2, u.persons,
                      coalesce(array_agg(m.serial ORDER BY m.serial)
                               FILTER (WHERE m.serial IS NOT NULL), '{}') AS meter_serials
                 FROM units u JOIN buildings b ON b.id = u.building_id
                 LEFT JOIN meters m ON m.unit_id = u.id
                GROUP BY u.id, b.code ORDER BY u.building_id, u.code"""
        ).fetchall()
    return [UnitPublic(**row) for row in rows]


def unit_meter(conn: psycopg.Connection, unit_id: int) -> tuple[int, str, str]:
    """(meter id, serial, physical unit) of the unit's electricity meter, or 404."""
    row = conn.execute(
        """SELECT m.id, m.serial, m.physical_unit FROM meters m
            WHERE m.unit_id = %s AND m.medium = 'electricity'
            ORDER BY m.installed_on DESC NULLS LAST, m.id DESC LIMIT 1""",
        (unit_id,),
    ).fetchone()
    if row is None:
        exists = conn.execute("SELECT 1 FROM units WHERE id = %s", (unit_id,)).fetchone()
        if exists is None:
            raise NotFoundError(f"unit {unit_id} not found")
        raise NotFoundError(f"unit {unit_id} has no electricity meter")
    return int(row[0]), str(row[1]), str(row[2])


def readings(conn: psycopg.Connection, unit_id: int, start: datetime, end: datetime,
             register: str = ENERGY_REGISTER, limit: int = 10_000) -> list[ReadingPublic]:
    meter_id, serial, _ = unit_meter(conn, unit_id)
    rows = conn.execute(
        """SELECT read_at, value FROM readings
            WHERE meter_id = %s AND register = %s AND read_at >= %s AND read_at < %s
            ORDER BY read_at LIMIT %s""",
        (meter_id, register, start, end, limit),
    ).fetchall()
    return [ReadingPublic(meter_serial=serial, register_name=register, read_at=r[0], value=r[1])
            for r in rows]


def edge_value(conn: psycopg.Connection, meter_id: int, serial: str, register: str,
               edge: datetime) -> tuple[Decimal, datetime]:
    row = conn.execute(
        """SELECT value, read_at FROM readings
            WHERE meter_id = %s AND register = %s AND read_at <= %s AND read_at > %s
            ORDER BY read_at DESC LIMIT 1""",
        (meter_id, register, edge, edge - EDGE_LOOKBACK),
    ).fetchone()
    if row is None:
        raise ConsumptionError(
            f"meter {serial}: no {register} reading in the {EDGE_LOOKBACK.days} days up to "
            f"{edge.isoformat()}"
        )
    return Decimal(row[0]), row[1]


def meter_period(conn: psycopg.Connection, meter_id: int, serial: str, start: datetime,
                 end: datetime, register: str = ENERGY_REGISTER) -> MeterPeriod:
    start_value, start_at = edge_value(conn, meter_id, serial, register, start)
    end_value, end_at = edge_value(conn, meter_id, serial, register, end)
    return MeterPeriod(serial, start_value, start_at, end_value, end_at)


def consumption(conn: psycopg.Connection, unit_id: int, start: datetime,
                end: datetime) -> ConsumptionPublic:
    meter_id, serial, physical_unit = unit_meter(conn, unit_id)
    period = meter_period(conn, meter_id, serial, start, end)
    return ConsumptionPublic(
        unit_id=unit_id, meter_serial=serial, register_name=ENERGY_REGISTER,
        period_start=start, period_end=end,
        start_value=period.start_value, start_read_at=period.start_at,
        end_value=period.end_value, end_read_at=period.end_at,
        consumption=period.consumption, physical_unit=physical_unit, method=EDGE_METHOD,
    )


def building_time_zone_of_unit(conn: psycopg.Connection, unit_id: int) -> str:
    row = conn.execute(
        "SELECT b.time_zone FROM units u JOIN buildings b ON b.id = u.building_id"
        " WHERE u.id = %s", (unit_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"unit {unit_id} not found")
    return str(row[0])
