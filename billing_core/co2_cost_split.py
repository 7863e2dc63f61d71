"""CO2 cost split between tenants and landlord (CO2KostAufG).

Residential buildings (§ 5 and Anlage): the building's CO2 emission per m² of
living area and year, rounded to one decimal (§ 5 Abs. 1 Satz 3), picks one
of ten steps (lower bound inclusive); for periods shorter than a year the band
limits are reduced pro rata (§ 5 Abs. 1 Satz 4).  Non-residential buildings:
the tenant bears at most 50 % (§ 8 Abs. 1).  § 9: the landlord's share is
halved when public-law constraints block improvement of the building or of
its heat supply, and nothing is split when both do.  § 5a (from 2028-01-01,
heating systems under § 43 Abs. 1 GModG): 50/50.

The CO2 cost is a supplier-invoice figure (§ 3), so when it is computed from
energy × emission factor × price it is rounded half-up to the cent first; the
landlord's percentage of it is rounded half-up and the tenants get the rest
(HEWA example: 20 % of 212.23 = 42.446 → 42.45, tenants 169.78).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from billing_core.apportion_input import Co2Item
from billing_core.cent_rounding import exact_str, half_up, round_decimal, units_to_cents
from billing_core.errors import AllocationError
from billing_core.occupancy_days import days_inclusive
from billing_core.rule_tables import co2_steps


@dataclass(frozen=True)
class Co2Split:
    """Outcome of the CO2KostAufG split for one building and period."""

    co2_cost_cents: int
    landlord_cents: int
    tenant_cents: int
    step: int | None
    tenant_pct: Fraction
    landlord_pct: Fraction
    derivation: dict[str, Any]
    explanation: tuple[str, ...]


def _in_force(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


def classify_residential(co2_kg: Fraction, area_m2: Fraction, start: date, end: date,
                         ) -> tuple[int, Fraction, Fraction, Decimal, Fraction]:
    """(step, tenant %, landlord %, kg/m²/a rounded, band factor) for a residential building."""
    days = days_inclusive(start, end)
    year_days = 366 if calendar.isleap(start.year) and days >= 366 else 365
    factor = Fraction(1) if days >= year_days else Fraction(days, 365)
    specific = round_decimal(co2_kg / area_m2, 1)
    for row in co2_steps():
        if row.kind != "step" or not _in_force(row.valid_from, row.valid_to, start):
            continue
        lo = Fraction(row.co2_min_kg_m2_a or 0) * factor
        hi = None if row.co2_max_kg_m2_a_exclusive is None else Fraction(
            row.co2_max_kg_m2_a_exclusive) * factor
        value = Fraction(specific)
        if value >= lo and (hi is None or value < hi):
            return (int(row.step), Fraction(row.tenant_pct), Fraction(row.landlord_pct),
                    specific, factor)
    raise AllocationError(f"CO2KostAufG: no step for {specific} kg CO2/m²/a on {start}")


def co2_split(item: Co2Item, building_area_m2: Fraction, start: date, end: date) -> Co2Split:
    """Compute the CO2 cost, the building's step and the landlord's and tenants' parts."""
    deriv: dict[str, Any] = {}
    why: list[str] = []
    kg: Fraction | None = Fraction(item.co2_kg) if item.co2_kg is not None else None
    if kg is None:
        if item.energy_kwh_hi is not None:
            e_hi = Fraction(item.energy_kwh_hi)
        elif item.energy_kwh_hs is not None and item.hs_to_hi_factor is not None:
            e_hi = Fraction(item.energy_kwh_hs) * Fraction(item.hs_to_hi_factor)
            why.append(f"{exact_str(item.energy_kwh_hs)} kWh (Hs) × "
                       f"{exact_str(item.hs_to_hi_factor)} = {exact_str(e_hi)} kWh (Hi)")
        else:
            raise AllocationError(f"{item.id}: give co2_kg, or the energy and its factors")
        if item.emission_factor_kg_per_kwh_hi is None:
            raise AllocationError(f"{item.id}: emission_factor_kg_per_kwh_hi is required")
        deriv["energy_kwh_hi"] = exact_str(e_hi)
        kg = e_hi * Fraction(item.emission_factor_kg_per_kwh_hi)
        why.append(f"CO2 = {exact_str(e_hi)} kWh × {exact_str(item.emission_factor_kg_per_kwh_hi)}"
                   f" kg/kWh = {exact_str(kg)} kg")
    deriv["co2_kg"] = exact_str(kg)
    if item.co2_cost_cents is not None:
        cost = item.co2_cost_cents
    elif item.co2_price_eur_per_t is not None:
        vat = Fraction(item.co2_vat_rate_pct or 0)
        cost = units_to_cents(kg / 1000 * Fraction(item.co2_price_eur_per_t) * (1 + vat / 100))
        why.append(f"CO2 cost = {exact_str(kg)} kg × {exact_str(item.co2_price_eur_per_t)} EUR/t"
                   + (f" + {exact_str(vat)} % VAT (§ 3 Abs. 3)" if vat else ""))
    else:
        raise AllocationError(f"{item.id}: give co2_cost_cents or co2_price_eur_per_t")
    deriv["co2_cost_cents"] = cost
    area = Fraction(item.living_area_m2) if item.living_area_m2 is not None else building_area_m2
    step: int | None = None
    if item.building_type == "residential":
        step, tenant, landlord, specific, factor = classify_residential(kg, area, start, end)
        deriv["co2_kg_per_m2_a"] = str(specific)
        deriv["step"] = step
        why.append(f"{exact_str(kg)} kg / {exact_str(area)} m² = {specific} kg CO2/m²/a "
                   f"→ step {step} (CO2KostAufG § 5, Anlage)")
        if factor != 1:
            why.append(f"band limits × {exact_str(factor)} for a period shorter than a year")
        s5a = next(r for r in co2_steps() if r.step == "S5A-3")
        if item.heating_system_gmodg_43 and _in_force(s5a.valid_from, s5a.valid_to, start):
            tenant, landlord = Fraction(s5a.tenant_pct), Fraction(s5a.landlord_pct)
            why.append("§ 5a: 50/50 for heating systems under § 43 Abs. 1 GModG")
    else:
        row = next(r for r in co2_steps() if r.kind == "nonresidential")
        tenant, landlord = Fraction(row.tenant_pct), Fraction(row.landlord_pct)
        why.append("non-residential building: tenant at most 50 % (CO2KostAufG § 8 Abs. 1)")
    if item.constraint_building and item.constraint_heat_supply:
        tenant, landlord = Fraction(100), Fraction(0)
        why.append("§ 9 Abs. 2: both constraints → no split")
    elif item.constraint_building or item.constraint_heat_supply:
        landlord = landlord / 2
        tenant = 100 - landlord
        why.append("§ 9 Abs. 1: landlord's share halved (public-law constraint)")
    landlord_cents = half_up(cost * landlord / 100)
    deriv["tenant_pct"] = exact_str(tenant)
    deriv["landlord_pct"] = exact_str(landlord)
    deriv["landlord_cents"] = landlord_cents
    deriv["tenant_cents"] = cost - landlord_cents
    return Co2Split(cost, landlord_cents, cost - landlord_cents, step, tenant, landlord, deriv,
                    tuple(why))
