"""Rounding a single exact amount to minor units, and printing exact quantities.

Single amounts that are not shares of a total (a tariff charge, a tenant's
§ 12 cut, interest, the landlord's CO2 percentage) are rounded commercially,
half away from zero, to the cent or fen — the convention of the published
examples (``worked_examples.csv``: "money rounded half-up to the cent only at
the end").  Shares of a total use ``largest_remainder.split_by_weights``
instead, so they add up exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def half_up(value: Fraction | Decimal | int) -> int:
    """Round an exact amount of minor units half away from zero to an int."""
    f = Fraction(value)
    sign = -1 if f < 0 else 1
    f = abs(f)
    whole, rest = divmod(f.numerator, f.denominator)
    if 2 * rest >= f.denominator:
        whole += 1
    return sign * whole


def units_to_cents(amount: Fraction | Decimal) -> int:
    """Round an amount in main units (EUR, CNY) half-up to minor units."""
    return half_up(Fraction(amount) * 100)


def round_decimal(value: Fraction | Decimal, places: int) -> Decimal:
    """Round an exact value half-up to ``places`` decimals (display and § 5 CO2KostAufG)."""
    d = Decimal(Fraction(value).numerator) / Decimal(Fraction(value).denominator) if isinstance(
        value, Fraction) else value
    exp = Decimal(1).scaleb(-places)
    if isinstance(value, Fraction):
        scaled = half_up(value * 10**places)
        return (Decimal(scaled) * exp).quantize(exp)
    return d.quantize(exp, rounding=ROUND_HALF_UP)


def exact_str(value: Fraction | Decimal | int) -> str:
    """An exact decimal string when the value terminates, else ``numerator/denominator``."""
    f = Fraction(value)
    den = f.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{f.numerator}/{f.denominator}"
    places = max(twos, fives)
    text = str((Decimal(f.numerator) / Decimal(f.denominator)).quantize(Decimal(1).scaleb(-places)))
    return text


def cents_str(cents: int) -> str:
    """Minor units as a main-unit decimal string: 123456 -> '1234.56'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole}.{rest:02d}"
