"""Tiered residential tariffs (阶梯电价 / 阶梯水价), billed per household.

Each tier's quantity is charged at its price; bounds are lower-exclusive,
upper-inclusive as in the Beijing tables (``cn_tiered_tariffs.csv``).  Annual
bounds count per calendar year, so a household present for part of the year
gets bounds pro-rated by its days (days / days of that year); monthly bounds
are pro-rated by months (partial months by days).  Where the local rule gives
larger households more volume, ``persons_allowance`` raises every bound by a
fixed amount per person above a threshold (data from the contract or notice,
not a constant here).

The total is rounded half-up to the fen once; the price components (water
charge, resource fee, sewage fee) are shares of that total by their exact
amounts, so they add up to it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from billing_core.cent_rounding import exact_str, units_to_cents
from billing_core.errors import AllocationError
from billing_core.largest_remainder import split_by_weights
from billing_core.rule_tables import TariffTier, tariff_rows


@dataclass(frozen=True)
class TierCharge:
    """Quantity and exact amount in one tier."""

    tier: int
    quantity: Fraction
    price: Fraction
    amount: Fraction


@dataclass(frozen=True)
class TieredCharge:
    """A household's tiered charge."""

    tiers: tuple[TierCharge, ...]
    total_exact: Fraction
    total_cents: int
    components_cents: dict[str, int]
    bound_factor: Fraction
    source: str

    def derivation(self) -> dict[str, Any]:
        """JSON-ready derivation for the item result."""
        return {
            "tiers": [
                {"tier": t.tier, "quantity": exact_str(t.quantity), "price": exact_str(t.price),
                 "amount_exact": exact_str(t.amount)}
                for t in self.tiers
            ],
            "total_exact": exact_str(self.total_exact),
            "total_cents": self.total_cents,
            "components_cents": self.components_cents,
            "bound_factor": exact_str(self.bound_factor),
        }


def year_fraction(start: date, end: date) -> Fraction:
    """Share of calendar years covered by ``start..end`` (each year by its own length)."""
    total = Fraction(0)
    day = start
    while day <= end:
        last = date(day.year, 12, 31)
        upto = min(last, end)
        total += Fraction((upto - day).days + 1, 366 if calendar.isleap(day.year) else 365)
        day = upto + timedelta(days=1)
    return total


def month_fraction(start: date, end: date) -> Fraction:
    """Months covered by ``start..end``, partial months by days."""
    total = Fraction(0)
    day = start
    while day <= end:
        month_days = calendar.monthrange(day.year, day.month)[1]
        upto = min(date(day.year, day.month, month_days), end)
        total += Fraction((upto - day).days + 1, month_days)
        day = upto + timedelta(days=1)
    return total


def _select(region: str, utility: str, supply: str | None, basis: str, on: date,
            ) -> list[TariffTier]:
    rows = [
        r for r in tariff_rows()
        if r.region == region and r.utility == utility and r.tier_basis == basis
        and (r.valid_from is None or r.valid_from <= on)
    ]
    if supply is not None:
        rows = [r for r in rows if r.supply == supply or r.supply.split(" ")[0] == supply]
    elif rows:
        first = rows[0].supply
        rows = [r for r in rows if r.supply == first]
    if not rows:
        raise AllocationError(
            f"no {basis} {utility} tariff for {region} (supply {supply!r}) on {on.isoformat()}"
        )
    return rows


def tiered_charge(
    quantity: Fraction,
    *,
    region: str,
    utility: str,
    supply: str | None,
    basis: str,
    start: date,
    end: date,
    extra_bound: Fraction = Fraction(0),
) -> TieredCharge:
    """Charge ``quantity`` used from ``start`` to ``end`` under the tiered tariff."""
    rows = _select(region, utility, supply, basis, start)
    factor = year_fraction(start, end) if basis == "annual" else month_fraction(start, end)
    totals = sorted((r for r in rows if r.component == "total"), key=lambda r: r.tier)
    tiers: list[TierCharge] = []
    comp_exact: dict[str, Fraction] = {}
    for r in totals:
        lo = Fraction(r.lower_bound_exclusive) * factor + (extra_bound if r.tier > 1 else 0)
        hi = None if r.upper_bound_inclusive is None else (
            Fraction(r.upper_bound_inclusive) * factor + extra_bound)
        used = max(Fraction(0), (quantity if hi is None else min(quantity, hi)) - lo)
        if used <= 0:
            continue
        price = Fraction(r.price_cny_per_unit)
        tiers.append(TierCharge(r.tier, used, price, used * price))
        parts = [c for c in rows if c.tier == r.tier and c.component != "total"]
        if parts and sum(Fraction(c.price_cny_per_unit) for c in parts) != price:
            raise AllocationError(f"{region} {utility} tier {r.tier}: components do not add up")
        for c in parts:
            comp_exact[c.component] = comp_exact.get(c.component, Fraction(0)) + used * Fraction(
                c.price_cny_per_unit)
    total = sum((t.amount for t in tiers), Fraction(0))
    cents = units_to_cents(total)
    comps: dict[str, int] = {}
    if comp_exact and cents:
        names = list(comp_exact)
        shares = split_by_weights(cents, [comp_exact[n] for n in names], names,
                                  item=f"{utility} components")
        comps = dict(zip(names, shares, strict=True))
    return TieredCharge(tuple(tiers), total, cents, comps, factor, totals[0].source)
