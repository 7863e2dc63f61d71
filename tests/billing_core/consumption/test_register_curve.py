"""Register semantics with hand-computed expectations: rollover, reset, exchange, intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from billing_core.consumption import (
    EdgeMethod,
    FlagKind,
    MeterExchange,
    MeterSegment,
    Reading,
    RegisterKind,
    RegisterSpec,
    build_curve,
    period_consumption,
)
from billing_core.errors import ConsumptionError


def day(d: int, hour: int = 0, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, d, hour, minute, tzinfo=UTC)


def series(serial: str, *pairs: tuple[datetime, str]) -> list[Reading]:
    return [Reading(t, D(v), serial) for t, v in pairs]


def test_rollover_at_register_maximum_counts_through_zero() -> None:
    spec = RegisterSpec(rollover_at=D(100000))
    curve = build_curve([MeterSegment("E1", series(
        "E1", (day(1), "99990"), (day(2), "99998"), (day(3), "5"), (day(4), "12")), spec)])
    used = period_consumption(curve, day(1), day(4))
    # 8 + (5 + 100000 - 99998 = 7) + 7
    assert used.quantity == D(22)
    assert [f.kind for f in used.flags] == [FlagKind.ROLLOVER]
    assert used.flags[0].start == day(2) and used.flags[0].end == day(3)
    assert used.method == "readings_on_edges"


def test_drop_without_rollover_maximum_is_a_reset_counted_from_zero() -> None:
    curve = build_curve([MeterSegment("E1", series(
        "E1", (day(1), "5000"), (day(2), "5010"), (day(3), "3"), (day(4), "8")))])
    used = period_consumption(curve, day(1), day(4))
    assert used.quantity == D(18)  # 10 + 3 (from zero) + 5
    assert [f.kind for f in used.flags] == [FlagKind.RESET]


def test_small_step_back_is_negative_flagged_and_kept() -> None:
    curve = build_curve([MeterSegment("E1", series(
        "E1", (day(1), "100"), (day(2), "105"), (day(3), "102"), (day(4), "103")))])
    used = period_consumption(curve, day(1), day(4))
    # a misread 105 must not inflate the use: 103 - 100
    assert used.quantity == D(3)
    assert [f.kind for f in used.flags] == [FlagKind.NEGATIVE]
    assert "went back by 3" in used.flags[0].reason


def test_meter_exchange_has_no_jump() -> None:
    old = MeterSegment("OLD", series("OLD", (day(1), "1000"), (day(11), "1100")))
    new = MeterSegment("NEW", series("NEW", (day(21), "30")))
    exchange = MeterExchange(day(16), "OLD", "NEW", D("1150"), D("0"))
    curve = build_curve([old, new], [exchange])
    used = period_consumption(curve, day(1), day(21))
    assert used.quantity == D(180)  # 150 on the old meter + 30 on the new one
    assert [f.kind for f in used.flags] == [FlagKind.EXCHANGE]
    assert used.flags[0].details["old_final_value"] == "1150"
    # 18 Jan 12:00 is half-way between the new meter's start (16th) and 21st: 0 → 30 gives 15
    half = period_consumption(curve, day(1), day(18, 12))
    assert half.quantity == D(165)
    assert half.end_edge.method is EdgeMethod.LINEAR_INTERPOLATION
    assert half.end_edge.before == Reading(day(16), D("1150"), "OLD")
    assert half.end_edge.after == Reading(day(21), D("30"), "NEW")


def test_exchange_with_wrong_meter_names_it() -> None:
    old = MeterSegment("OLD", series("OLD", (day(1), "1")))
    new = MeterSegment("NEW", series("NEW", (day(3), "2")))
    with pytest.raises(ConsumptionError, match="names new meter OTHER"):
        build_curve([old, new], [MeterExchange(day(2), "OLD", "OTHER", D(1), D(0))])


def test_interval_register_sums_values_and_interpolates_inside_an_interval() -> None:
    spec = RegisterSpec(kind=RegisterKind.INTERVAL, interval=timedelta(minutes=15))
    curve = build_curve([MeterSegment("L1", series(
        "L1", (day(1, 0, 15), "1"), (day(1, 0, 30), "2"), (day(1, 0, 45), "3"),
        (day(1, 1), "4")), spec)])
    assert period_consumption(curve, day(1), day(1, 1)).quantity == D(10)
    # half of the first quarter hour (value 1) lies before 00:07:30
    assert period_consumption(curve, day(1, 0, 7) + timedelta(seconds=30),
                              day(1, 1)).quantity == D("9.5")


def test_interval_register_needs_its_interval() -> None:
    with pytest.raises(ConsumptionError, match="interval must be a positive duration"):
        RegisterSpec(kind=RegisterKind.INTERVAL)


def test_two_different_values_at_one_instant_are_refused() -> None:
    with pytest.raises(ConsumptionError, match="two different readings at 2026-01-01"):
        build_curve([MeterSegment("E1", series("E1", (day(1), "1"), (day(1), "2")))])
