"""Bill responses: integer cents everywhere, plus each cost's total so shares can be checked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from billing_core.submetered_electricity import BuildingBill, UnitBill


class BillLinePublic(BaseModel):
    item: str
    key: str
    unit_key_value: Decimal
    total_key_value: Decimal
    amount_cents: int
    explanation: str


class UnitBillPublic(BaseModel):
    unit_id: int
    unit_code: str
    period_start: datetime
    period_end: datetime
    currency: str
    consumption_kwh: Decimal
    lines: list[BillLinePublic]
    total_cents: int


class CostTotalPublic(BaseModel):
    item: str
    key: str
    quantity_kwh: Decimal
    total_cents: int


class BuildingBillPublic(BaseModel):
    building_id: int
    period_start: datetime
    period_end: datetime
    currency: str
    tariff_minor_per_kwh: Decimal
    main_meter_serial: str
    main_meter_kwh: Decimal
    costs: list[CostTotalPublic]
    units: list[UnitBillPublic]
    total_cents: int


def unit_bill_public(bill: BuildingBill, unit: UnitBill, currency: str) -> UnitBillPublic:
    return UnitBillPublic(
        unit_id=unit.unit_id, unit_code=unit.unit_code,
        period_start=bill.period_start, period_end=bill.period_end, currency=currency,
        consumption_kwh=unit.consumption_kwh,
        lines=[BillLinePublic(item=ln.item, key=ln.key, unit_key_value=ln.unit_key_value,
                              total_key_value=ln.total_key_value,
                              amount_cents=ln.amount_cents, explanation=ln.explanation)
               for ln in unit.lines],
        total_cents=unit.total_cents,
    )


def building_bill_public(building_id: int, bill: BuildingBill,
                         currency: str) -> BuildingBillPublic:
    return BuildingBillPublic(
        building_id=building_id, period_start=bill.period_start, period_end=bill.period_end,
        currency=currency, tariff_minor_per_kwh=bill.tariff_minor_per_kwh,
        main_meter_serial=bill.main_meter.meter_serial,
        main_meter_kwh=bill.main_meter.consumption,
        costs=[CostTotalPublic(item=c.item, key=c.key, quantity_kwh=c.quantity_kwh,
                               total_cents=c.total_cents) for c in bill.costs],
        units=[unit_bill_public(bill, u, currency) for u in bill.units],
        total_cents=bill.total_cents,
    )
