"""Electricity bills for a building with a main meter and one sub meter per unit.

Two cost items, each split with the largest-remainder rule
(``billing_core.largest_remainder``) so a cost's shares add up to its total:

* ``electricity_units`` — the units' own use: total = Σ unit kWh × tariff,
  split by each unit's measured kWh;
* ``electricity_common`` — stairwell lights, lift and losses: the main meter's
  consumption minus the units' (``main − Σ units``), priced the same way and
  split by living area.

A cost total is rounded once, half up to the cent (the price is per kWh with
fractional cents); only the per-unit shares are then integers, never rounded
again.  Consumption is ``end − start`` of a cumulative register; a counter
that went backwards is an error naming the meter, not a negative bill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from billing_core.errors import AllocationError, ConsumptionError
from billing_core.largest_remainder import split_by_weights

ITEM_UNITS = "electricity_units"
ITEM_COMMON = "electricity_common"
KEY_CONSUMPTION = "measured_consumption_kwh"
KEY_LIVING_AREA = "living_area_m2"


@dataclass(frozen=True, slots=True)
class MeterPeriod:
    """A cumulative register at both edges of the billing period."""

    meter_serial: str
    start_value: Decimal
    start_at: datetime
    end_value: Decimal
    end_at: datetime

    @property
    def consumption(self) -> Decimal:
        used = self.end_value - self.start_value
        if used < 0:
            raise ConsumptionError(
                f"meter {self.meter_serial}: reading went back from {self.start_value} "
                f"({self.start_at.isoformat()}) to {self.end_value} ({self.end_at.isoformat()})"
            )
        return used


@dataclass(frozen=True, slots=True)
class UnitInput:
    unit_id: int
    unit_code: str
    living_area_m2: Decimal
    meter: MeterPeriod


@dataclass(frozen=True, slots=True)
class BillLine:
    item: str
    key: str
    unit_key_value: Decimal
    total_key_value: Decimal
    amount_cents: int
    explanation: str


@dataclass(frozen=True, slots=True)
class UnitBill:
    unit_id: int
    unit_code: str
    consumption_kwh: Decimal
    lines: tuple[BillLine, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


@dataclass(frozen=True, slots=True)
class CostTotal:
    item: str
    key: str
    quantity_kwh: Decimal
    total_cents: int


@dataclass(frozen=True, slots=True)
class BuildingBill:
    period_start: datetime
    period_end: datetime
    tariff_minor_per_kwh: Decimal
    main_meter: MeterPeriod
    costs: tuple[CostTotal, ...]
    units: tuple[UnitBill, ...]

    @property
    def total_cents(self) -> int:
        return sum(c.total_cents for c in self.costs)


def price_cents(quantity_kwh: Decimal, tariff_minor_per_kwh: Decimal) -> int:
    """A cost total in whole cents: quantity × price, rounded half up once."""
    return int((quantity_kwh * tariff_minor_per_kwh).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def bill_building(
    units: Sequence[UnitInput],
    main_meter: MeterPeriod,
    tariff_minor_per_kwh: Decimal,
    period_start: datetime,
    period_end: datetime,
) -> BuildingBill:
    """Apportion a building's electricity over its units for one period."""
    if not units:
        raise AllocationError("building has no units to bill")
    if tariff_minor_per_kwh < 0:
        raise AllocationError(f"tariff {tariff_minor_per_kwh} minor units/kWh is negative")
    ordered = sorted(units, key=lambda u: u.unit_id)
    ids = [u.unit_id for u in ordered]
    used = [u.meter.consumption for u in ordered]
    areas = [u.living_area_m2 for u in ordered]
    units_kwh = sum(used, Decimal(0))
    main_kwh = main_meter.consumption
    common_kwh = main_kwh - units_kwh
    if common_kwh < 0:
        raise AllocationError(
            f"{ITEM_COMMON}: main meter {main_meter.meter_serial} used {main_kwh} kWh, "
            f"less than the units' {units_kwh} kWh"
        )
    total_area = sum(areas, Decimal(0))
    units_total = price_cents(units_kwh, tariff_minor_per_kwh)
    common_total = price_cents(common_kwh, tariff_minor_per_kwh)
    own_shares = split_by_weights(units_total, used, ids, item=ITEM_UNITS)
    common_shares = split_by_weights(common_total, areas, ids, item=ITEM_COMMON)
    bills = []
    for unit, kwh, own, common in zip(ordered, used, own_shares, common_shares, strict=True):
        lines = (
            BillLine(
                ITEM_UNITS, KEY_CONSUMPTION, kwh, units_kwh, own,
                f"meter {unit.meter.meter_serial}: {unit.meter.end_value} − "
                f"{unit.meter.start_value} = {kwh} kWh of {units_kwh} kWh "
                f"× {tariff_minor_per_kwh} ct/kWh",
            ),
            BillLine(
                ITEM_COMMON, KEY_LIVING_AREA, unit.living_area_m2, total_area, common,
                f"common use {common_kwh} kWh (main {main_kwh} − units {units_kwh}) "
                f"split by living area {unit.living_area_m2} of {total_area} m²",
            ),
        )
        bills.append(UnitBill(unit.unit_id, unit.unit_code, kwh, lines))
    return BuildingBill(
        period_start=period_start,
        period_end=period_end,
        tariff_minor_per_kwh=tariff_minor_per_kwh,
        main_meter=main_meter,
        costs=(
            CostTotal(ITEM_UNITS, KEY_CONSUMPTION, units_kwh, units_total),
            CostTotal(ITEM_COMMON, KEY_LIVING_AREA, common_kwh, common_total),
        ),
        units=tuple(bills),
    )
