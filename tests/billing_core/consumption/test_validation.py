"""Validation flags with reasons: stuck, gaps, spikes (median/MAD), night flow on water meters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from billing_core.consumption import (
    FlagKind,
    MeterSegment,
    Reading,
    ValidationRules,
    build_curve,
    validate,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def curve_of(values: list[str], step: timedelta, serial: str = "W1"):
    return build_curve([MeterSegment(serial, [Reading(T0 + i * step, D(v), serial)
                                              for i, v in enumerate(values)])])


def kinds(flags) -> list[FlagKind]:
    return [f.kind for f in flags]


def test_register_standing_still_for_a_week_is_stuck() -> None:
    values = ["10", "11", *["12"] * 8, "13"]  # 12 from day 2 to day 9: 7 days
    flags = validate(curve_of(values, timedelta(days=1)), "electricity")
    assert kinds(flags) == [FlagKind.STUCK]
    assert flags[0].start == T0 + timedelta(days=2) and flags[0].end == T0 + timedelta(days=9)
    assert "stayed at 12" in flags[0].reason


def test_six_still_days_are_not_stuck() -> None:
    values = ["10", "11", *["12"] * 7, "13"]
    assert kinds(validate(curve_of(values, timedelta(days=1)), "electricity")) == []


def test_spike_beyond_robust_threshold_is_flagged_alone() -> None:
    # hourly use 1.0 ± 0.1, one hour of 20
    uses = ["1.0", "1.1", "0.9", "1.0", "1.1", "0.9", "20", "1.0", "1.1", "0.9", "1.0"]
    values, total = ["0"], D(0)
    for u in uses:
        total += D(u)
        values.append(str(total))
    flags = validate(curve_of(values, timedelta(hours=1)), "electricity")
    assert kinds(flags) == [FlagKind.SPIKE]
    assert flags[0].start == T0 + timedelta(hours=6)
    # median 1.0, MAD 0.1 → z = 0.6745 × 19 / 0.1 = 128.155
    assert D(flags[0].details["z"]) == D("128.155")


def test_constant_use_has_no_spikes() -> None:
    values = [str(i) for i in range(20)]
    assert kinds(validate(curve_of(values, timedelta(hours=1)), "electricity")) == []


def test_mostly_zero_use_falls_back_to_mean_absolute_deviation() -> None:
    # 9 idle hours and one of 5: MAD is 0, mean AD = 0.5 → z = 5 / (0.5 × 1.253314) ≈ 7.98
    uses = ["0"] * 5 + ["5"] + ["0"] * 4
    values, total = ["0"], D(0)
    for u in uses:
        total += D(u)
        values.append(str(total))
    flags = validate(curve_of(values, timedelta(hours=1)), "heat", ValidationRules(
        stuck_after=timedelta(days=30)))
    assert kinds(flags) == [FlagKind.SPIKE]
    assert flags[0].details["scale_basis"] == "mean absolute deviation"


def _quarter_hours_from_midnight(uses_per_quarter: list[str], start: datetime) -> list[Reading]:
    out, total = [Reading(start, D(0), "W1")], D(0)
    for i, u in enumerate(uses_per_quarter):
        total += D(u)
        out.append(Reading(start + (i + 1) * timedelta(minutes=15), total, "W1"))
    return out


# 2026-03-02 00:00 Europe/Berlin is 2026-03-01 23:00 UTC; the night 02:00-05:00 is 12 quarters
BERLIN_MIDNIGHT = datetime(2026, 3, 1, 23, tzinfo=UTC)


def test_water_flowing_all_night_is_a_leak_suspicion() -> None:
    readings = _quarter_hours_from_midnight(["0.01"] * 24, BERLIN_MIDNIGHT)
    flags = validate(build_curve([MeterSegment("W1", readings)]), "cold_water")
    night = [f for f in flags if f.kind is FlagKind.NIGHT_FLOW]
    assert len(night) == 1
    assert night[0].start == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert night[0].end == datetime(2026, 3, 2, 4, tzinfo=UTC)
    assert night[0].details["intervals"] == "12"


def test_one_dry_quarter_hour_at_night_clears_the_suspicion() -> None:
    uses = ["0.01"] * 24
    uses[13] = "0"  # 03:15-03:30 local
    readings = _quarter_hours_from_midnight(uses, BERLIN_MIDNIGHT)
    flags = validate(build_curve([MeterSegment("W1", readings)]), "hot_water")
    assert FlagKind.NIGHT_FLOW not in kinds(flags)


def test_night_flow_is_a_water_rule_only() -> None:
    readings = _quarter_hours_from_midnight(["0.01"] * 24, BERLIN_MIDNIGHT)
    flags = validate(build_curve([MeterSegment("W1", readings)]), "electricity")
    assert FlagKind.NIGHT_FLOW not in kinds(flags)
