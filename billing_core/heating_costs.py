"""HeizkostenV rules: §§ 7, 8 (consumption share), 9 (combined systems), 9a (estimation
limit), 12 (tenant's cuts).  § 9b (change of user) lives in the keys: the fixed
heating part uses degree-day shares, the fixed hot-water part days, and the
consumption part the interim reading (see ``allocation_keys``).

Every parameter comes from ``heizkostenv_rules.csv`` by rule id, checked for
validity on the rules date (the start of the billing period: the 2021 and 2024
amendments apply to billing periods beginning on or after their dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from billing_core.apportion_input import BuildingConditions, CombinedItem, HeatSplitSpec
from billing_core.cent_rounding import exact_str, half_up
from billing_core.errors import AllocationError
from billing_core.rule_tables import (
    RuleTableError,
    calorific_value,
    heizkostenv_parameter,
    rule_in_force,
)


def _param(rule_id: str, on: date) -> Fraction:
    return Fraction(heizkostenv_parameter(rule_id, on).decimal)


@dataclass(frozen=True)
class ConsumptionShare:
    """The consumption share applied to a heating or hot-water item, and why."""

    pct: Fraction
    reasons: tuple[str, ...]
    derivation: dict[str, Any] = field(default_factory=dict)
    cut_15: bool = False


def mandatory_70_applies(conditions: BuildingConditions, heat_supply: bool, on: date) -> bool:
    """§ 7 Abs. 1 Satz 2: all three facts, and (since 2021-12-01, § 7 Abs. 3) not heat supply."""
    if not (
        conditions.below_waermeschutzv_1994
        and conditions.oil_or_gas_heating
        and conditions.exposed_pipes_mostly_insulated
    ):
        return False
    if not rule_in_force("HKV-7-1-S2-MANDATORY70", on):
        return False  # before 2009 the rule was § 12 Abs. 6 a.F., not modelled
    # § 7 Abs. 3 (since 2021-12-01) applies only Satz 1 and 3-5 to heat supply
    return not (heat_supply and rule_in_force("HKV-7-3-SUPPLY", on))


def consumption_share(
    spec: HeatSplitSpec,
    *,
    paragraph: str,
    on: date,
    conditions: BuildingConditions,
    heat_supply: bool,
    estimated_area: Fraction,
    total_area: Fraction,
    item: str,
) -> ConsumptionShare:
    """Decide the consumption share of § 7 (``paragraph='7'``) or § 8 (``'8'``).

    Order: not billed by consumption (→ 0 %, § 12 cut 15 %); § 9a Abs. 2 (more
    than 25 % of the area estimated → all by the fixed key); the mandatory 70 %
    of § 7 Abs. 1 Satz 2; otherwise the agreed share within 50–70 % (§ 10:
    a contract may go higher).
    """
    derivation: dict[str, Any] = {}
    if paragraph == "8" and spec.fixed_key != "living_area":
        raise AllocationError(
            f"{item}: § 8 Abs. 1 splits the fixed hot-water costs by living or usable area "
            f"only, not by {spec.fixed_key}"
        )
    limit = _param("HKV-9A-2-LIMIT", on)
    affected = estimated_area / total_area * 100 if total_area else Fraction(0)
    derivation["estimated_area_m2"] = exact_str(estimated_area)
    derivation["affected_share_pct"] = exact_str(affected)
    derivation["exceeds_limit"] = affected > limit
    if not spec.billed_by_consumption:
        derivation["consumption_share_pct_applied"] = "0"
        return ConsumptionShare(
            Fraction(0),
            ("not billed by consumption although required; tenant may cut 15 % (§ 12 Abs. 1)",),
            derivation,
            cut_15=True,
        )
    if affected > limit:
        derivation["consumption_share_pct_applied"] = "0"
        return ConsumptionShare(
            Fraction(0),
            (f"§ 9a Abs. 2: estimated area {exact_str(affected)} % > {exact_str(limit)} %: "
             "all costs by the fixed key",),
            derivation,
        )
    lo_id, hi_id = ("HKV-7-1-S1-MIN", "HKV-7-1-S1-MAX") if paragraph == "7" else (
        "HKV-8-1-MIN", "HKV-8-1-MAX")
    lo, hi = _param(lo_id, on), _param(hi_id, on)
    reasons: list[str] = []
    pct = None if spec.consumption_share_pct is None else Fraction(spec.consumption_share_pct)
    if paragraph == "7" and mandatory_70_applies(conditions, heat_supply, on):
        required = _param("HKV-7-1-S2-MANDATORY70", on)
        if pct is None:
            pct = required
        if pct < required:
            raise AllocationError(
                f"{item}: § 7 Abs. 1 Satz 2 requires {exact_str(required)} % by consumption "
                "(building below WärmeschutzV 1994, oil/gas, pipes insulated), "
                f"got {exact_str(pct)} %"
            )
        reasons.append(f"§ 7 Abs. 1 Satz 2: {exact_str(required)} % mandatory")
    if pct is None:
        raise AllocationError(
            f"{item}: consumption_share_pct is required (§ {paragraph} Abs. 1: "
            f"{exact_str(lo)}–{exact_str(hi)} %)"
        )
    if pct < lo:
        raise AllocationError(
            f"{item}: consumption share {exact_str(pct)} % is below the minimum "
            f"{exact_str(lo)} % of § {paragraph} Abs. 1"
        )
    if pct > hi and not spec.contract_above_70:
        raise AllocationError(
            f"{item}: consumption share {exact_str(pct)} % exceeds {exact_str(hi)} % "
            f"(§ {paragraph} Abs. 1); set contract_above_70 if the contract provides it (§ 10)"
        )
    if estimated_area:
        reasons.append(
            f"§ 9a: {exact_str(affected)} % of the area estimated (limit {exact_str(limit)} %)"
        )
    derivation["consumption_share_pct_applied"] = exact_str(pct)
    return ConsumptionShare(pct, tuple(reasons), derivation)


@dataclass(frozen=True)
class CombinedSplit:
    """§ 9: the hot-water part of a combined system's joint costs."""

    hot_water_share: Fraction
    hot_water_cents: int
    heating_cents: int
    derivation: dict[str, Any]
    explanation: tuple[str, ...]


def hot_water_heat(item: CombinedItem, on: date, supplied_area_m2: Fraction) -> tuple[
        Fraction, Fraction, dict[str, Any], list[str]]:
    """Q for hot water (§ 9 Abs. 2): metered, volume formula or area formula, then factors.

    Returns (Q before factors, Q after factors, derivation, explanation).
    """
    deriv: dict[str, Any] = {}
    why: list[str] = []
    if item.hot_water_heat_kwh is not None:
        q = Fraction(item.hot_water_heat_kwh)
        deriv["q_metered_kwh"] = exact_str(q)
        why.append(f"Q = {exact_str(q)} kWh from the heat meter (§ 9 Abs. 2 Satz 1)")
        return q, q, deriv, why
    if item.hot_water_volume_m3 is not None:
        if item.hot_water_mean_temp_c is None:
            raise AllocationError(f"{item.id}: hot_water_mean_temp_c is needed with the volume")
        # The 2021 amendment only rewrote Satz 2 as a numerical-value equation; the
        # factor 2.5 is unchanged, so the row's value also serves earlier periods.
        k = Fraction(heizkostenv_parameter("HKV-9-2-S2-FACTOR", None).decimal)
        cold = _param("HKV-9-2-S3-COLD", on)
        v, tw = Fraction(item.hot_water_volume_m3), Fraction(item.hot_water_mean_temp_c)
        q = k * v * (tw - cold)
        deriv["q_formula_kwh"] = exact_str(q)
        why.append(
            f"Q = {exact_str(k)} × {exact_str(v)} m³ × ({exact_str(tw)} − {exact_str(cold)}) "
            f"= {exact_str(q)} kWh (§ 9 Abs. 2 Satz 2)"
        )
    else:
        area = Fraction(item.area_supplied_with_hot_water_m2) if (
            item.area_supplied_with_hot_water_m2 is not None) else supplied_area_m2
        f32 = _param("HKV-9-2-S4-AREA", on)
        q = f32 * area
        deriv["q_formula_kwh"] = exact_str(q)
        deriv["q_area_formula_kwh"] = exact_str(q)
        why.append(f"Q = {exact_str(f32)} × {exact_str(area)} m² = {exact_str(q)} kWh "
                   "(§ 9 Abs. 2 Satz 4, neither heat nor volume measured)")
    q_adj = q
    if item.gas_billed_on_gross_calorific_value:
        f = _param("HKV-9-2-S6-GAS-HS", on)
        q_adj = q_adj * f
        deriv["q_after_hs_factor_kwh"] = exact_str(q_adj)
        why.append(f"× {exact_str(f)} for gas billed on the gross calorific value "
                   "(§ 9 Abs. 2 Satz 6 Nr. 1)")
    if item.system == "heat_supply":
        f = _param("HKV-9-2-S6-DISTRICT", on)
        q_adj = q_adj / f
        deriv["q_after_heat_supply_factor_kwh"] = exact_str(q_adj)
        why.append(f"÷ {exact_str(f)} for commercial heat supply (§ 9 Abs. 2 Satz 6 Nr. 2)")
    if item.system == "heat_pump":
        f = _param("HKV-9-2-S6-HEATPUMP", on)
        q_adj = q_adj * f
        deriv["q_after_heat_pump_factor_kwh"] = exact_str(q_adj)
        why.append(f"× {exact_str(f)} for a monovalent heat pump (§ 9 Abs. 2 Satz 6 Nr. 3)")
    return q, q_adj, deriv, why


def combined_split(item: CombinedItem, on: date, supplied_area_m2: Fraction) -> CombinedSplit:
    """Split a combined system's joint costs into hot water and heating (§ 9 Abs. 1-3).

    The hot-water share is Q' / total energy, or for boilers billed in fuel
    units B / fuel quantity with B = Q' / Hi (supplier's Hi first, then the
    § 9 Abs. 3 table).  The two parts are rounded as shares of the joint total
    (largest remainder), so they add up to it.
    """
    from billing_core.largest_remainder import split_by_weights

    _q, q_adj, deriv, why = hot_water_heat(item, on, supplied_area_m2)
    if item.total_energy_kwh is not None:
        share = q_adj / Fraction(item.total_energy_kwh)
        why.append(f"hot-water share = {exact_str(q_adj)} / {exact_str(item.total_energy_kwh)} kWh")
    elif item.fuel is not None:
        row = None
        try:
            row = calorific_value(item.fuel, on)
        except RuleTableError:
            if item.hi_from_invoice is None:
                raise
        if item.hi_from_invoice is not None:
            hi = Fraction(item.hi_from_invoice)
            why.append(f"Hi = {exact_str(hi)} from the supplier's invoice (§ 9 Abs. 3 Satz 3)")
        else:
            assert row is not None
            hi = Fraction(row.decimal)
            why.append(f"Hi = {row.value} {row.unit} for {row.parameter} ({row.citation()})")
        b = q_adj / hi
        deriv["hi_used"] = exact_str(hi)
        if row is not None:
            deriv["hi_unit"] = row.unit
            deriv["b_unit"] = row.unit.split("/", 1)[-1]
        deriv["b_hot_water_fuel"] = exact_str(b)
        why.append(f"B = Q / Hi = {exact_str(b)} (§ 9 Abs. 3)")
        if item.fuel_quantity is None:
            if item.total_cents:
                raise AllocationError(f"{item.id}: fuel_quantity is needed to split the costs by B")
            share = Fraction(0)
        else:
            share = b / Fraction(item.fuel_quantity)
            why.append(f"hot-water share = B / {exact_str(item.fuel_quantity)}")
    else:
        raise AllocationError(
            f"{item.id}: give total_energy_kwh, or fuel and fuel_quantity, to set Q against"
        )
    if not 0 <= share <= 1:
        raise AllocationError(f"{item.id}: hot-water share {exact_str(share)} is outside 0..1")
    deriv["hot_water_share"] = exact_str(share)
    if share in (0, 1) or item.total_cents == 0:
        hw = item.total_cents if share == 1 else 0
        parts = [hw, item.total_cents - hw]
    else:
        parts = split_by_weights(item.total_cents, [share, 1 - share], ["hot_water", "heating"],
                                 item=item.id)
    deriv["hot_water_cost_cents"] = parts[0]
    deriv["heating_cost_cents"] = parts[1]
    return CombinedSplit(share, parts[0], parts[1], deriv, tuple(why))


def tenant_cut_pcts(*, not_by_consumption: bool, remote_missing: bool, info_missing: bool,
                    owners_association: bool, on: date) -> list[tuple[Fraction, str]]:
    """The § 12 Abs. 1 cuts that apply, each with its citation.

    The cuts are added on the share shown in the bill (BGH VIII ZR 329/14);
    whether the 3 % cuts accumulate is not said by the regulation — we add
    them, and the line names each rule.  None apply within an owners'
    association (Satz 4).
    """
    if owners_association:
        return []
    cuts = []
    if not_by_consumption:
        cuts.append((_param("HKV-12-1-S1-CUT15", on), "§ 12 Abs. 1 Satz 1"))
    if remote_missing:
        cuts.append((_param("HKV-12-1-S2-CUT3-REMOTE", on), "§ 12 Abs. 1 Satz 2"))
    if info_missing:
        cuts.append((_param("HKV-12-1-S3-CUT3-INFO", on), "§ 12 Abs. 1 Satz 3"))
    return cuts


def cut_cents(share_cents: int, pct: Fraction) -> int:
    """The cut on a share, rounded half-up (1234.56 × 15 % = 185.184 → 185.18)."""
    return half_up(share_cents * pct / 100)
