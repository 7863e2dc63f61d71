"""Operating costs under BetrKV § 2: the 17 categories and their default keys.

§ 556a Abs. 1 BGB: unless the parties agreed otherwise, operating costs are
split by living area; costs that depend on recorded consumption or causation
go by a key that reflects it.  Categories 4-6 (heating, hot water, combined
systems) are split under the HeizkostenV instead (``heating_costs``).  A
property overrides the default per item with its own key mix (waste by
persons, property tax by area) and may exclude units by contract (e.g. the
ground floor from the lift).
"""

from __future__ import annotations

from decimal import Decimal

from billing_core.apportion_input import AllocatedItem, KeyComponent
from billing_core.errors import AllocationError
from billing_core.rule_tables import betrkv_categories

DEFAULT_KEY = KeyComponent(key="living_area", pct=Decimal(100))


def item_components(
    item: AllocatedItem, property_keys: dict[int, list[KeyComponent]] | None = None
) -> tuple[list[KeyComponent], str]:
    """The key mix of an item and the legal basis to print with it.

    Precedence: the item's own components, then the property's key for its
    BetrKV number (``betrkv_keys`` of the input, agreed in the leases), then
    the statutory default of § 556a Abs. 1 BGB (living area).
    """
    if item.betrkv_number is None:
        basis = "contract / 民法典 Art. 283 default: area"
        return (list(item.components) or [DEFAULT_KEY]), basis
    cat = betrkv_categories()[item.betrkv_number]
    if cat.heizkostenv:
        raise AllocationError(
            f"{item.id}: BetrKV § 2 Nr. {cat.number} ({cat.short_en}) is split under the "
            "HeizkostenV: use a heating, hot_water or heating_hot_water_combined item"
        )
    basis = f"BetrKV § 2 Nr. {cat.number} ({cat.name_de})"
    if item.components:
        return list(item.components), basis + "; key by contract"
    if property_keys and item.betrkv_number in property_keys:
        return list(property_keys[item.betrkv_number]), basis + "; key of the property by contract"
    return [DEFAULT_KEY], basis + "; default key living area (§ 556a Abs. 1 BGB)"


def item_label(item: AllocatedItem) -> str:
    """Readable name: the given label, else the category's English short name."""
    if item.label:
        return item.label
    if item.betrkv_number is not None:
        return betrkv_categories()[item.betrkv_number].short_en
    return item.id
