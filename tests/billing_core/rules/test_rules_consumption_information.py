"""HeizkostenV § 6a: monthly consumption information content and interval."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing_core.consumption_information import information_interval, monthly_information


def test_monthly_information_compares_with_previous_month_and_last_year():
    series = {(2025, 1): Decimal("410"), (2025, 2): Decimal("380"), (2026, 2): Decimal("350")}
    info = monthly_information("A", (2026, 2), series, Decimal("400"))
    assert info.complete
    assert info.consumption_kwh == Decimal("350")
    assert info.previous_month_kwh is None  # January 2026 not recorded: owed only if it exists
    assert info.change_vs_last_year_kwh() == Decimal("-30")


def test_missing_average_user_comparison_is_reported():
    info = monthly_information("A", (2026, 2), {(2026, 2): Decimal("1")}, None)
    assert not info.complete
    assert info.missing == ("comparison with an average user (§ 6a Abs. 2 Nr. 3)",)


def test_information_interval_follows_the_2021_and_2022_dates():
    assert information_interval(date(2021, 12, 15), True, False) == "half-yearly"
    assert information_interval(date(2021, 12, 15), True, True) == "quarterly"
    assert information_interval(date(2022, 1, 1), True, False) == "monthly"
    assert information_interval(date(2025, 1, 1), False, False) == "none"
