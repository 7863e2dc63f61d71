"""Default interest (§ 288 BGB) and the Chinese electricity late-payment penalty.

§ 288 Abs. 1/2 BGB: 5 (consumer involved) or 9 (payment claim, no consumer)
percentage points above the § 247 base rate, which changes on 1 January and
1 July; each day takes the rate in force on it.  Day count and rounding are
conventions, not law: actual days with both ends included, a 365-day year (or
360), half-up to the cent at the end — as stated in the worked example.

供电营业规则 (1996) Art. 98: residential users 0.1 % of the arrears per day;
others 0.2 % (current year) or 0.3 % (earlier years); at least 1 yuan.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from billing_core.cent_rounding import half_up
from billing_core.rule_tables import RuleTableError, base_rate_periods, late_payment_rule


def default_interest(principal_cents: int, start: date, end: date, debtor: str,
                     day_count: str) -> tuple[int, Fraction, list[str]]:
    """(interest in cents, exact interest in cents, explanation)."""
    margin_row = late_payment_rule("BGB-288-1" if debtor == "consumer" else "BGB-288-2")
    margin = Fraction(margin_row.value)
    year = 360 if day_count == "ACT/360" else 365
    exact = Fraction(0)
    why: list[str] = []
    day = start
    periods = base_rate_periods()
    while day <= end:
        row = next((r for r in periods if r.valid_from and r.valid_from <= day
                    and (r.valid_to is None or day <= r.valid_to)), None)
        if row is None:
            raise RuleTableError(f"§ 247 BGB: no base rate for {day.isoformat()}")
        upto = min(end, row.valid_to or end)
        days = (upto - day).days + 1
        rate = Fraction(row.value) + margin
        exact += principal_cents * rate / 100 * Fraction(days, year)
        why.append(f"{day.isoformat()}..{upto.isoformat()}: {days} days × "
                   f"({row.value} % + {margin_row.value} points) ({margin_row.provision})")
        day = upto + timedelta(days=1)
    return half_up(exact), exact, why


def cn_electricity_late_fee(arrears_cents: int, prior_cents: int, days: int, user: str,
                            ) -> tuple[int, list[str]]:
    """(penalty in fen, explanation) under 供电营业规则 Art. 98."""
    if user == "residential":
        rate = Fraction(late_payment_rule("CN-ELEC-LATE-RES").value)
        exact = (arrears_cents + prior_cents) * rate / 100 * days
        why = [f"{rate} % × {days} days (CN-ELEC-LATE-RES)"]
    else:
        cur = Fraction(late_payment_rule("CN-ELEC-LATE-OTHER-CUR").value)
        prior = Fraction(late_payment_rule("CN-ELEC-LATE-OTHER-PRIOR").value)
        exact = (arrears_cents * cur + prior_cents * prior) / 100 * days
        why = [f"{cur} % (current year) / {prior} % (earlier years) × {days} days"]
    fee = half_up(exact)
    minimum = int(Fraction(late_payment_rule("CN-ELEC-LATE-MIN").value) * 100)
    if 0 < fee < minimum:
        why.append(f"minimum {minimum} fen (CN-ELEC-LATE-MIN)")
        fee = minimum
    return fee, why
