"""Routes: units, a unit's readings, consumption and bill."""

from __future__ import annotations

from fastapi import APIRouter

from api.bills import service as bills_service
from api.bills.schemas import UnitBillPublic
from api.deps import DbConn, StaffUser
from api.period_query import PeriodQuery
from api.units import service
from api.units.schemas import ConsumptionPublic, ReadingPublic, UnitPublic

router = APIRouter(prefix="/units", tags=["units"])


@router.get("")
def list_units(conn: DbConn, user: StaffUser) -> list[UnitPublic]:
    return service.list_units(conn)


@router.get("/{unit_id}/readings")
def unit_readings(unit_id: int, period: PeriodQuery, conn: DbConn,
                  user: StaffUser) -> list[ReadingPublic]:
    p = period.resolve(service.building_time_zone_of_unit(conn, unit_id))
    return service.readings(conn, unit_id, p.start, p.end)


@router.get("/{unit_id}/consumption")
def unit_consumption(unit_id: int, period: PeriodQuery, conn: DbConn,
                     user: StaffUser) -> ConsumptionPublic:
    p = period.resolve(service.building_time_zone_of_unit(conn, unit_id))
    return service.consumption(conn, unit_id, p.start, p.end)


@router.get("/{unit_id}/bill")
def unit_bill(unit_id: int, period: PeriodQuery, conn: DbConn,
              user: StaffUser) -> UnitBillPublic:
    p = period.resolve(service.building_time_zone_of_unit(conn, unit_id))
    return bills_service.unit_bill(conn, unit_id, p.start, p.end)
