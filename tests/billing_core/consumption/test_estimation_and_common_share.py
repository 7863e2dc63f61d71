"""HeizkostenV §9a estimation, its 25 % figures, and main minus sub-meters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from billing_core.consumption import (
    ComparablePeriod,
    ComparableRoom,
    FlagKind,
    UnitFigure,
    common_share,
    estimate_from_comparable_period,
    estimate_from_comparable_rooms,
    estimation_share,
)
from billing_core.errors import ConsumptionError


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_comparable_period_scales_by_length() -> None:
    earlier = ComparablePeriod(at(2025, 1, 1), at(2026, 1, 1), D(730))  # 365 days, 2 a day
    est = estimate_from_comparable_period("U3", at(2026, 1, 1), at(2026, 1, 31), earlier)
    assert est.quantity == D(60)
    assert est.method == "comparable_period"
    assert est.flag.kind is FlagKind.ESTIMATED
    prov = est.provenance.as_dict()
    assert prov["method"] == "estimated_comparable_period"
    assert prov["estimation"]["comparable_quantity"] == "730"


def test_comparable_period_with_degree_day_adjustment() -> None:
    earlier = ComparablePeriod(at(2025, 1, 1), at(2025, 1, 31), D(300))
    est = estimate_from_comparable_period("U3", at(2026, 1, 1), at(2026, 1, 31), earlier,
                                          D("0.9"), "degree days 2026/2025")
    assert est.quantity == D(270)
    assert est.basis["adjustment_reason"] == "degree days 2026/2025"


def test_comparable_rooms_use_measured_consumption_per_m2() -> None:
    rooms = [ComparableRoom("U1", D(50), D(500)), ComparableRoom("U2", D(70), D(700))]
    est = estimate_from_comparable_rooms("U3", D(60), at(2026, 1, 1), at(2027, 1, 1), rooms)
    assert est.quantity == D(600)
    with pytest.raises(ConsumptionError, match="unit U3: cannot be its own"):
        estimate_from_comparable_rooms("U3", D(60), at(2026, 1, 1), at(2027, 1, 1),
                                       [ComparableRoom("U3", D(60), D(1))])


def test_quarter_of_area_estimated_still_allows_consumption_split() -> None:
    share = estimation_share([UnitFigure("U1", D(30), D(100), True),
                              UnitFigure("U2", D(90), D(300), False)])
    assert share.area_share == D("0.25")
    assert share.quantity_share == D("0.25")
    assert share.consumption_split_allowed


def test_more_than_a_quarter_of_area_estimated_refuses_consumption_split() -> None:
    share = estimation_share([UnitFigure("U1", D(31), D(10), True),
                              UnitFigure("U2", D(89), D(390), False)])
    assert share.exceeds_limit_by_area and not share.exceeds_limit_by_quantity
    assert not share.consumption_split_allowed
    assert share.estimated_quantity == D(10) and share.total_quantity == D(400)


def test_common_share_in_range_is_not_flagged() -> None:
    share = common_share("B1", at(2026, 1, 1), at(2027, 1, 1), D(1000),
                         {"U1": D(400), "U2": D(450)})
    assert share.common_quantity == D(150)
    assert share.losses_ratio == D("0.15")
    assert share.flags == ()


def test_common_share_too_high_or_negative_is_flagged() -> None:
    high = common_share("B1", at(2026, 1, 1), at(2027, 1, 1), D(1000),
                        {"U1": D(400), "U2": D(300)}, main_meter_serial="MAIN")
    assert [f.kind for f in high.flags] == [FlagKind.LOSSES_RATIO]
    assert "30.00% of the main meter's 1000" in high.flags[0].reason
    negative = common_share("B1", at(2026, 1, 1), at(2027, 1, 1), D(1000),
                            {"U1": D(600), "U2": D(500)})
    assert negative.common_quantity == D(-100)
    assert [f.kind for f in negative.flags] == [FlagKind.LOSSES_RATIO]
