"""Shared (公摊) electricity and water of a building.

民法典 Art. 283: building costs are shared as agreed, and without (clear)
agreement by each owner's share of exclusive floor area — so ``area`` is the
default.  ``household`` (equal shares) and ``consumption`` (the loss between
master meter and household meters by each household's metered use) are
common practice that needs an agreement (``cn_shared_allocation.csv``).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from billing_core.apportion_input import KeyComponent, SharedItem
from billing_core.cent_rounding import units_to_cents
from billing_core.errors import AllocationError

LEGAL_BASIS = {
    "area": "民法典 第二百八十三条 (CN-CC-283, CN-GT-AREA)",
    "household": "by agreement (CN-GT-HOUSEHOLD)",
    "consumption": "by agreement (CN-GT-CONSUMPTION)",
}


def shared_components(item: SharedItem) -> list[KeyComponent]:
    """The key of a 公摊 item."""
    if item.method == "area":
        return [KeyComponent(key="living_area", pct=Decimal(100))]
    if item.method == "household":
        return [KeyComponent(key="units", pct=Decimal(100))]
    if not item.meter:
        raise AllocationError(f"{item.id}: method consumption needs the household meter name")
    return [KeyComponent(key="consumption", pct=Decimal(100), meter=item.meter)]


def shared_total_cents(item: SharedItem, submeter_sum: Fraction) -> tuple[int, str | None]:
    """The amount to share: given, or (master − Σ household meters) × price."""
    if item.total_cents is not None:
        return item.total_cents, None
    if item.master_meter is None or item.price_per_unit is None:
        raise AllocationError(f"{item.id}: give total_cents, or master_meter and price_per_unit")
    loss = Fraction(item.master_meter) - submeter_sum
    if loss < 0:
        raise AllocationError(
            f"{item.id}: household meters ({submeter_sum}) exceed the master meter "
            f"({item.master_meter}): negative common use"
        )
    cents = units_to_cents(loss * Fraction(item.price_per_unit))
    return cents, f"loss = {item.master_meter} − {submeter_sum} = {loss} × {item.price_per_unit}"
