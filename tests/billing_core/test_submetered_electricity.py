from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing_core.errors import AllocationError, ConsumptionError
from billing_core.submetered_electricity import MeterPeriod, UnitInput, bill_building

T0 = datetime(2026, 10, 1, tzinfo=UTC)
T1 = datetime(2026, 11, 1, tzinfo=UTC)


def meter(serial: str, start: str, end: str) -> MeterPeriod:
    return MeterPeriod(serial, Decimal(start), T0, Decimal(end), T1)


def test_hand_computed_building() -> None:
    units = [
        UnitInput(1, "W01", Decimal("50"), meter("A", "100", "200")),   # 100 kWh
        UnitInput(2, "W02", Decimal("100"), meter("B", "0", "50.5")),   # 50.5 kWh
    ]
    main = meter("M", "1000", "1200")  # 200 kWh → common 49.5 kWh
    bill = bill_building(units, main, Decimal("30"), T0, T1)
    # units: 150.5 kWh × 30 ct = 4515 ct, split 100 : 50.5 → 3000 / 1515
    # common: 49.5 × 30 = 1485 ct, split 50 : 100 → 495 / 990
    assert [c.total_cents for c in bill.costs] == [4515, 1485]
    amounts = [[line.amount_cents for line in u.lines] for u in bill.units]
    assert amounts == [[3000, 495], [1515, 990]]
    assert sum(u.total_cents for u in bill.units) == bill.total_cents == 6000


def test_counter_going_back_names_the_meter() -> None:
    with pytest.raises(ConsumptionError, match="meter A: reading went back"):
        bill_building([UnitInput(1, "W01", Decimal(1), meter("A", "5", "4"))],
                      meter("M", "0", "9"), Decimal(1), T0, T1)


def test_main_below_units_is_an_allocation_error() -> None:
    with pytest.raises(AllocationError, match="main meter M used 1 kWh, less than"):
        bill_building([UnitInput(1, "W01", Decimal(1), meter("A", "0", "2"))],
                      meter("M", "0", "1"), Decimal(1), T0, T1)
