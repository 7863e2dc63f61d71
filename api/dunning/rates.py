"""Default interest per § 288 BGB and the Chinese late fee (滞纳金), from data.

§ 288 Abs. 1 BGB: a consumer debt in default bears interest at 5 percentage
points above the base rate (§ 247 BGB); Abs. 2: a payment claim without a
consumer involved, 9 points; Abs. 5: plus a flat fee of 40 EUR for such a
business debtor.  The base rate changes on 1 January and 1 July; each day of the
default takes the rate in force on that day.  The table is
``data/de_late_payment.csv``, a verbatim copy of the shared reference (its
``status`` column says which rows are unverified; they are used and reported).

Conventions (not law, stated so they can be checked): interest runs from the day
after the due date (§ 187 Abs. 1 BGB) to the reference date inclusive, actual
days over a 365-day year, exact fractions, rounded half up to the minor unit once
at the end.

滞纳金: there is no statutory rate for rent or property fees in China; a late fee
exists only as the contract states it (Civil Code Art. 585), so the rate is a
per-contract daily rate (``late_fee_terms.daily_rate``, e.g. 0.003 = 0.3 % per
day), applied to the overdue amount for each day overdue.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

from api.errors import InvalidRequestError
from billing_core.cent_rounding import half_up

DATA = Path(__file__).resolve().parent / "data" / "de_late_payment.csv"


@dataclass(frozen=True, slots=True)
class BaseRate:
    valid_from: date
    valid_to: date
    percent: Fraction
    status: str


@cache
def _rows() -> tuple[dict[str, str], ...]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _rule(rule_id: str) -> dict[str, str]:
    for row in _rows():
        if row["rule_id"] == rule_id:
            return row
    raise InvalidRequestError(f"{DATA.name}: no rule {rule_id}")


@cache
def base_rates() -> tuple[BaseRate, ...]:
    """The § 247 BGB base rate periods in the table, oldest first."""
    rates = [BaseRate(date.fromisoformat(r["valid_from"]), date.fromisoformat(r["valid_to"]),
                      Fraction(Decimal(r["value"])), r["status"])
             for r in _rows() if r["rule_id"].startswith("BASISZINS-")]
    return tuple(sorted(rates, key=lambda r: r.valid_from))


def _percent(value: Fraction) -> str:
    return str(Decimal(value.numerator) / Decimal(value.denominator))


@dataclass(frozen=True, slots=True)
class InterestResult:
    interest_minor: int
    flat_fee_minor: int
    periods: list[str]
    warnings: list[str]


def default_interest(principal_minor: int, due_on: date, until: date,
                     debtor: str = "consumer") -> InterestResult:
    """§ 288 BGB interest on ``principal_minor`` for the days after ``due_on`` to ``until``."""
    if debtor not in ("consumer", "business"):
        raise InvalidRequestError(f"debtor must be consumer or business, not {debtor!r}")
    margin = Fraction(Decimal(_rule("BGB-288-1" if debtor == "consumer" else "BGB-288-2")
                              ["value"]))
    flat_fee = (int(Decimal(_rule("BGB-288-5")["value"]) * 100)
                if debtor == "business" else 0)
    start = due_on + timedelta(days=1)
    exact = Fraction(0)
    periods: list[str] = []
    warnings: list[str] = []
    day = start
    while day <= until:
        rate = next((r for r in base_rates() if r.valid_from <= day <= r.valid_to), None)
        if rate is None:
            raise InvalidRequestError(f"§ 247 BGB: no base rate for {day.isoformat()} in "
                                      f"{DATA.name}")
        upto = min(until, rate.valid_to)
        days = (upto - day).days + 1
        exact += principal_minor * (rate.percent + margin) / 100 * Fraction(days, 365)
        periods.append(f"{day.isoformat()}..{upto.isoformat()}: {days} days at "
                       f"{_percent(rate.percent)} % + {_percent(margin)} points")
        if not rate.status.startswith("verified"):
            warnings.append(f"base rate from {rate.valid_from.isoformat()} is marked "
                            f"'{rate.status}' in the table")
        day = upto + timedelta(days=1)
    return InterestResult(half_up(exact), flat_fee, periods, warnings)


def late_fee(principal_minor: int, due_on: date, until: date, daily_rate: Decimal) -> int:
    """滞纳金: ``principal x daily_rate x days overdue``, half up to the minor unit."""
    if daily_rate < 0:
        raise InvalidRequestError("daily_rate must not be negative", field="daily_rate")
    days = max((until - due_on).days, 0)
    return half_up(principal_minor * Fraction(daily_rate) * days)
