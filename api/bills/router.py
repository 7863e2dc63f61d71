"""Routes: a building's bills for a period."""

from __future__ import annotations

from fastapi import APIRouter

from api.bills import service
from api.bills.schemas import BuildingBillPublic
from api.deps import DbConn, StaffUser
from api.errors import NotFoundError
from api.period_query import PeriodQuery

router = APIRouter(prefix="/buildings", tags=["bills"])


@router.get("/{building_id}/bills")
def building_bills(building_id: int, period: PeriodQuery, conn: DbConn,
                   user: StaffUser) -> BuildingBillPublic:
    row = conn.execute("SELECT time_zone FROM buildings WHERE id = %s", (building_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"building {building_id} not found")
    p = period.resolve(str(row[0]))
    return service.building_bill(conn, building_id, p.start, p.end)
