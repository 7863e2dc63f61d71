"""Consumption over a period: reading on the edge, linear interpolation to the cut-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from billing_core.consumption import (
    EdgeMethod,
    FlagKind,
    MeterSegment,
    Reading,
    build_curve,
    period_consumption,
    validate,
)
from billing_core.errors import ConsumptionError


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_cut_off_between_readings_is_interpolated_linearly() -> None:
    # 21 days, 210 kWh: 10 a day; 1 Jan is 12 days after 20 Dec → 1120
    readings = [Reading(at(2025, 12, 20), D(1000), "E1"), Reading(at(2026, 1, 10), D(1210), "E1"),
                Reading(at(2026, 2, 1), D(1430), "E1")]
    curve = build_curve([MeterSegment("E1", readings)])
    used = period_consumption(curve, at(2026, 1, 1), at(2026, 1, 10))
    assert used.quantity == D(90)
    assert used.method == "linear_interpolation"
    assert used.start_edge.method is EdgeMethod.LINEAR_INTERPOLATION
    assert used.start_edge.consumed == D(120)
    assert used.end_edge.method is EdgeMethod.READING_ON_EDGE
    prov = used.provenance.as_dict()
    assert [r["value"] for r in prov["readings"]] == ["1000", "1210"]
    assert prov["edges"][0]["method"] == "linear_interpolation"


def test_interpolated_value_is_rounded_to_micro_units() -> None:
    readings = [Reading(at(2026, 1, 1), D(0), "E1"), Reading(at(2026, 1, 4), D(1), "E1")]
    curve = build_curve([MeterSegment("E1", readings)])
    # one third of 1, half to even at 6 places
    assert period_consumption(curve, at(2026, 1, 1), at(2026, 1, 2)).quantity == D("0.333333")


def test_edge_outside_the_readings_is_not_extrapolated() -> None:
    curve = build_curve([MeterSegment("E7", [Reading(at(2026, 1, 1), D(0), "E7"),
                                             Reading(at(2026, 1, 5), D(4), "E7")])])
    with pytest.raises(ConsumptionError, match=r"meter E7: no reading after 2026-01-06.*§9a"):
        period_consumption(curve, at(2026, 1, 2), at(2026, 1, 6))


def test_interpolation_over_a_too_long_span_is_refused_when_limited() -> None:
    curve = build_curve([MeterSegment("E1", [Reading(at(2026, 1, 1), D(0), "E1"),
                                             Reading(at(2026, 3, 1), D(59), "E1")])])
    with pytest.raises(ConsumptionError, match="more than the 31 days"):
        period_consumption(curve, at(2026, 1, 15), at(2026, 3, 1), max_span=timedelta(days=31))


def test_gap_is_bridged_by_interpolation_and_flagged_in_the_provenance() -> None:
    days = [*range(1, 6), *range(16, 21)]
    readings = [Reading(at(2026, 1, d), D(d * 2), "E1") for d in days]
    curve = build_curve([MeterSegment("E1", readings)])
    flags = validate(curve, "electricity")
    used = period_consumption(curve, at(2026, 1, 3), at(2026, 1, 18), flags)
    assert used.quantity == D(30)
    gaps = [f for f in used.flags if f.kind is FlagKind.GAP]
    assert len(gaps) == 1 and gaps[0].start == at(2026, 1, 5) and gaps[0].end == at(2026, 1, 16)
    assert used.provenance.as_dict()["flags"][0]["kind"] == "gap"
