"""Monthly consumption information under HeizkostenV § 6a (content for the tenant portal).

§ 6a Abs. 1 Nr. 2: where remotely readable devices are installed, users get
billing or consumption information monthly from 2022-01-01 (before: at least
twice a year, quarterly on request).  § 6a Abs. 2 sets the minimum content:

1. the user's consumption in the last month in kWh;
2. a comparison with the previous month and with the same month of the
   previous year, where the data exist;
3. a comparison with a normed or test-derived average user of the same
   category.

Missing or incomplete information lets the user cut his share by 3 %
(§ 12 Abs. 1 Satz 3): ``missing`` names what could not be given, so the
caller can record whether the duty was met.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing_core.rule_tables import rule_in_force

Month = tuple[int, int]


@dataclass(frozen=True)
class MonthlyInformation:
    """The § 6a Abs. 2 figures for one user and month (kWh)."""

    unit_id: str
    month: Month
    consumption_kwh: Decimal | None
    previous_month_kwh: Decimal | None
    same_month_last_year_kwh: Decimal | None
    average_user_kwh: Decimal | None
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every item of § 6a Abs. 2 could be given."""
        return not self.missing

    def change_vs_previous_month_kwh(self) -> Decimal | None:
        """Difference to the previous month (positive: more used)."""
        if self.consumption_kwh is None or self.previous_month_kwh is None:
            return None
        return self.consumption_kwh - self.previous_month_kwh

    def change_vs_last_year_kwh(self) -> Decimal | None:
        """Difference to the same month of the previous year."""
        if self.consumption_kwh is None or self.same_month_last_year_kwh is None:
            return None
        return self.consumption_kwh - self.same_month_last_year_kwh


def _previous(month: Month) -> Month:
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


def monthly_information(
    unit_id: str,
    month: Month,
    series_kwh: dict[Month, Decimal],
    average_user_kwh: Decimal | None,
) -> MonthlyInformation:
    """Assemble the § 6a Abs. 2 figures for ``month`` from a user's monthly kWh series.

    The comparison with the previous month and last year is owed only "where
    the data exist", so a gap there is not a missing item; the month's own
    consumption and the average-user comparison always are.
    """
    current = series_kwh.get(month)
    missing = []
    if current is None:
        missing.append("consumption of the last month (§ 6a Abs. 2 Nr. 1)")
    if average_user_kwh is None:
        missing.append("comparison with an average user (§ 6a Abs. 2 Nr. 3)")
    return MonthlyInformation(
        unit_id=unit_id,
        month=month,
        consumption_kwh=current,
        previous_month_kwh=series_kwh.get(_previous(month)),
        same_month_last_year_kwh=series_kwh.get((month[0] - 1, month[1])),
        average_user_kwh=average_user_kwh,
        missing=tuple(missing),
    )


def information_interval(on: date, remote_readable: bool, requested_or_electronic: bool) -> str:
    """How often § 6a Abs. 1 requires billing or consumption information on ``on``.

    ``none`` without remotely readable devices (the annual bill suffices),
    ``monthly`` from 2022-01-01 (Nr. 2), else ``quarterly`` when the user asks
    or bills are electronic, otherwise ``half-yearly`` (Nr. 1).
    """
    if not remote_readable:
        return "none"
    if rule_in_force("HKV-6A-1-NR2", on):
        return "monthly"
    if rule_in_force("HKV-6A-1-NR1", on):
        return "quarterly" if requested_or_electronic else "half-yearly"
    return "none"
