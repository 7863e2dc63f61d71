"""A building's electricity bill for a period: readings at the edges → billing_core."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg

from api.bills.schemas import BuildingBillPublic, UnitBillPublic, building_bill_public
from api.errors import InvalidRequestError, NotFoundError
from api.units.service import meter_period
from billing_core.submetered_electricity import UnitInput, bill_building


def _tariff(conn: psycopg.Connection, building_id: int, at: datetime) -> Decimal:
    row = conn.execute(
        """SELECT price_minor_per_unit FROM tariffs
            WHERE building_id = %s AND medium = 'electricity' AND valid_from <= %s
            ORDER BY valid_from DESC LIMIT 1""",
        (building_id, at.date()),
    ).fetchone()
    if row is None:
        raise InvalidRequestError(
            f"building {building_id} has no electricity tariff valid on {at.date()}",
            field="tariff")
    return Decimal(row[0]).normalize() + 0  # 32.150000 -> 32.15 (exact, no exponent)


def building_bill(conn: psycopg.Connection, building_id: int, start: datetime,
                  end: datetime) -> BuildingBillPublic:
    head = conn.execute(
        """SELECT p.currency FROM buildings b JOIN properties p ON p.id = b.property_id
            WHERE b.id = %s""", (building_id,)
    ).fetchone()
    if head is None:
        raise NotFoundError(f"building {building_id} not found")
    currency = str(head[0])
    main = conn.execute(
        """SELECT id, serial FROM meters WHERE building_id = %s AND role = 'main'
              AND medium = 'electricity' ORDER BY id LIMIT 1""", (building_id,)
    ).fetchone()
    if main is None:
        raise InvalidRequestError(f"building {building_id} has no electricity main meter",
                                  field="meters")
    sub_rows = conn.execute(
        """SELECT u.id, u.code, u.living_area_m2, m.id, m.serial
             FROM units u JOIN meters m ON m.unit_id = u.id AND m.medium = 'electricity'
            WHERE u.building_id = %s ORDER BY u.id""", (building_id,)
    ).fetchall()
    units = [
        UnitInput(int(uid), str(code), Decimal(area),
                  meter_period(conn, int(mid), str(serial), start, end))
        for uid, code, area, mid, serial in sub_rows
    ]
    main_period = meter_period(conn, int(main[0]), str(main[1]), start, end)
    bill = bill_building(units, main_period, _tariff(conn, building_id, start), start, end)
    return building_bill_public(building_id, bill, currency)


def unit_bill(conn: psycopg.Connection, unit_id: int, start: datetime,
              end: datetime) -> UnitBillPublic:
    row = conn.execute("SELECT building_id FROM units WHERE id = %s", (unit_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"unit {unit_id} not found")
    bill = building_bill(conn, int(row[0]), start, end)
    return next(u for u in bill.units if u.unit_id == unit_id)
