"""Property-management fee (物业费) by area and month, and parking fees by space and month.

The fee is the contract price × exclusive area (or spaces) × months of use,
partial months by days; each party's amount is rounded half-up to the fen.
A late penalty exists only by contract (民法典 Art. 585), and the service
provider may not cut utilities to collect (Art. 944): neither is computed here.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from billing_core.cent_rounding import units_to_cents
from billing_core.cn_tiered_tariff import month_fraction


def monthly_fee_cents(price_per_month: Fraction, quantity: Fraction, start: date, end: date,
                      ) -> tuple[int, Fraction]:
    """(fee in fen, months) for ``quantity`` m² or spaces from ``start`` to ``end``."""
    months = month_fraction(start, end)
    return units_to_cents(price_per_month * quantity * months), months
