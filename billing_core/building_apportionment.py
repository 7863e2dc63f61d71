"""The readable per-building apportionment path: input dataclasses → bills.

This is the path statements are printed from, written for reading, not speed
(the array kernels in ``billing_core.kernels`` do the bulk work and are
checked against it).  For each cost item:

1. the item's rule gives a key mix: components with a percentage and a key
   (HeizkostenV §§ 7/8: consumption share + fixed key; BetrKV: default or
   contractual key; 公摊: area/household/consumption; CO2KostAufG: the
   tenants' part split like the heating costs);
2. every party's exact amount is Σ component total × party key / total key
   (``Fraction``, no rounding);
3. the item total is split over the parties by largest remainder on those
   exact amounts (``split_by_weights``, ties by unit id then move-in date), so
   the shares add up to the item total to the cent; each party's amount is
   then split over the components the same way for the bill lines;
4. VAT contained in the item is spread over the lines the same way.

Per-household charges (tiered tariffs, property fees, interest) are computed
per party and rounded half-up once.  § 12 HeizkostenV cuts are negative lines
borne by the landlord, as is the landlord's CO2 share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from billing_core.allocation_keys import Party, key_unit, key_value, parties_of, reading_notes
from billing_core.apportion_input import (
    AllocatedItem,
    ApportionInput,
    Co2Item,
    CombinedItem,
    DefaultInterestItem,
    ElectricityLateFeeItem,
    HeatingItem,
    HeatSplitSpec,
    KeyComponent,
    PropertyFeeItem,
    SharedItem,
    TieredTariffItem,
    Unit,
    VatSpec,
)
from billing_core.bill import ApportionResult, Bill, BillLine, ItemResult, LandlordLine
from billing_core.cent_rounding import cents_str, exact_str, half_up
from billing_core.cn_property_fees import monthly_fee_cents
from billing_core.cn_shared_allocation import LEGAL_BASIS, shared_components, shared_total_cents
from billing_core.cn_tiered_tariff import tiered_charge
from billing_core.co2_cost_split import co2_split
from billing_core.errors import AllocationError
from billing_core.heating_costs import (
    combined_split,
    consumption_share,
    cut_cents,
    tenant_cut_pcts,
)
from billing_core.largest_remainder import split_by_weights
from billing_core.late_payment import cn_electricity_late_fee, default_interest
from billing_core.occupancy_days import time_share
from billing_core.operating_costs import item_components, item_label


@dataclass
class _Component:
    name: str
    key: str
    unit: str
    pct: Fraction
    weights: list[Fraction]
    notes: tuple[str, ...] = ()
    fixed_cents: list[int] | None = None  # a fixed amount per party instead of a key


@dataclass
class _State:
    data: ApportionInput
    parties: list[Party]
    units: dict[str, Unit]
    lines: dict[str, list[BillLine]] = field(default_factory=dict)
    items: list[ItemResult] = field(default_factory=list)
    landlord: list[LandlordLine] = field(default_factory=list)
    heat_shares: list[tuple[str, str, bool, dict[str, int]]] = field(default_factory=list)
    party_cents: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [p.sort_id for p in self.parties]


def split_item(
    total_cents: int,
    pcts: list[Fraction],
    weights: list[list[Fraction]],
    party_ids: list[str],
    *,
    item: str = "cost",
    names: list[str] | None = None,
) -> tuple[list[int], list[list[int]]]:
    """Split one item: per-party cents and, per party, cents per component.

    ``pcts[c]`` is component c's percentage of the item; ``weights[c][p]`` the
    key value of party p in component c.  Each party's exact amount is
    Σ_c total × pct_c/100 × w_cp / Σ_p w_cp; the total is split over the
    parties by largest remainder on those exact amounts (ties by
    ``party_ids``), and each party's cents over its components the same way.
    This is the statement path's rounding that the array kernels must match.
    """
    n = len(party_ids)
    labels = names or [str(c) for c in range(len(pcts))]
    exact = [[Fraction(0)] * len(pcts) for _ in range(n)]
    for c_i, (pct, comp_w) in enumerate(zip(pcts, weights, strict=True)):
        if pct == 0:
            continue
        weight_sum = sum(comp_w, Fraction(0))
        if weight_sum == 0:
            raise AllocationError(
                f"{item}: component {labels[c_i]!r}: the key is zero for every unit"
            )
        for p_i, w in enumerate(comp_w):
            exact[p_i][c_i] = total_cents * Fraction(pct) / 100 * w / weight_sum
    if total_cents == 0:
        return [0] * n, [[0] * len(pcts) for _ in range(n)]
    per_party = split_by_weights(total_cents, [abs(sum(row)) for row in exact], party_ids,
                                 item=item)
    per_comp = []
    for p_i, amount in enumerate(per_party):
        if amount == 0:
            per_comp.append([0] * len(pcts))
        else:
            per_comp.append(split_by_weights(amount, [abs(x) for x in exact[p_i]],
                                             list(range(len(pcts))), item=item))
    return per_party, per_comp


def _allocate(total_cents: int, comps: list[_Component], state: _State, item: str,
              ) -> tuple[list[int], list[list[int]]]:
    return split_item(total_cents, [c.pct for c in comps], [c.weights for c in comps], state.ids,
                      item=item, names=[f"{c.name} ({c.key})" for c in comps])


def _vat_total(total_cents: int, vat: VatSpec | None) -> tuple[int, int]:
    """(gross total to split, VAT contained)."""
    if vat is None or vat.rate_pct == 0:
        return total_cents, 0
    rate = Fraction(vat.rate_pct)
    if vat.mode == "added":
        tax = half_up(total_cents * rate / 100)
        return total_cents + tax, tax
    return total_cents, half_up(total_cents * rate / (100 + rate))


def _emit(state: _State, *, item_id: str, label: str, kind: str, total_cents: int,
          comps: list[_Component], legal: str, vat: VatSpec | None = None,
          derivation: dict[str, Any] | None = None, extra_notes: tuple[str, ...] = (),
          ) -> dict[str, int]:
    """Allocate an item over all parties and add its bill lines; returns cents per party.

    Components with ``fixed_cents`` are charged as given; the rest of the
    total is split by the keyed components.
    """
    gross, vat_cents = _vat_total(total_cents, vat)
    fixed_total = sum(sum(c.fixed_cents) for c in comps if c.fixed_cents is not None)
    if fixed_total and (gross - fixed_total) * (1 if gross >= 0 else -1) < 0:
        raise AllocationError(f"{item_id}: fixed amounts ({fixed_total}) exceed the total {gross}")
    keyed = [c if c.fixed_cents is None else _Component(c.name, c.key, c.unit, Fraction(0),
                                                          c.weights) for c in comps]
    per_party, per_comp = _allocate(gross - fixed_total, keyed, state, item_id)
    for c_i, comp in enumerate(comps):
        if comp.fixed_cents is not None:
            for p_i, cents in enumerate(comp.fixed_cents):
                per_comp[p_i][c_i] = cents
                per_party[p_i] += cents
    flat = [(p_i, c_i, per_comp[p_i][c_i]) for p_i in range(len(state.parties))
            for c_i in range(len(comps))]
    vat_split = [0] * len(flat)
    if vat_cents:
        vat_split = split_by_weights(vat_cents, [abs(a) for _, _, a in flat],
                                     [f"{state.ids[p]}\x00{c}" for p, c, _ in flat], item=item_id)
    for (p_i, c_i, amount), line_vat in zip(flat, vat_split, strict=True):
        party, comp = state.parties[p_i], comps[c_i]
        weight = comp.weights[p_i]
        if (comp.fixed_cents is None and comp.pct == 0) or (weight == 0 and amount == 0):
            continue
        total_key = sum(comp.weights, Fraction(0))
        notes = list(comp.notes) + list(extra_notes)
        flags = []
        if comp.key == "consumption":
            meter = comp.unit
            if meter in party.notes:
                notes.append(f"{meter}: {party.notes[meter]}")
            shown, kinds = reading_notes(party, meter)
            notes.extend(shown)
            flags.extend(kinds)
            if meter in party.estimated:
                flags.append("estimated")
                notes.append(f"{meter}: consumption estimated (HeizkostenV § 9a Abs. 1)")
        state.lines.setdefault(party.party_id, []).append(BillLine(
            item_id=item_id,
            item=label,
            component=comp.name,
            key=comp.key,
            key_unit=comp.unit,
            unit_key_value=exact_str(weight),
            total_key_value=exact_str(total_key),
            share=exact_str(weight / total_key) if total_key else "0",
            item_total_cents=gross,
            amount_cents=amount,
            vat_rate_pct=None if vat is None else exact_str(vat.rate_pct),
            vat_cents=line_vat,
            legal_basis=legal,
            explanation=tuple(notes),
            flags=tuple(dict.fromkeys(flags)),
        ))
    shares = {p.party_id: c for p, c in zip(state.parties, per_party, strict=True)}
    deriv = dict(derivation or {})
    deriv["components_cents"] = {
        comps[c_i].name: sum(per_comp[p_i][c_i] for p_i in range(len(state.parties)))
        for c_i in range(len(comps))
    }
    state.items.append(ItemResult(item_id, kind, label, gross, shares, legal, deriv, vat_cents))
    state.party_cents[item_id] = shares
    return shares


def _key_components(specs: list[KeyComponent], state: _State, item: str, excluded: set[str],
                    ) -> list[_Component]:
    comps = []
    for spec in specs:
        weights = [
            Fraction(0) if p.unit_id in excluded else key_value(
                spec.key, p, state.units[p.unit_id], state.data, meter=spec.meter, item=item)
            for p in state.parties
        ]
        name = spec.key if spec.key != "consumption" else f"consumption ({spec.meter})"
        notes = (f"units excluded by contract: {', '.join(sorted(excluded))}",) if excluded else ()
        comps.append(_Component(name, spec.key, key_unit(spec.key, spec.meter),
                                Fraction(spec.pct), weights, notes))
    return comps


def _allocated(item: AllocatedItem, state: _State) -> None:
    specs, legal = item_components(item, state.data.betrkv_keys)
    label = item_label(item)
    excluded = set(item.excluded_units) | {
        u.id for u in state.data.units if u.floor is not None and u.floor in item.excluded_floors}
    comps = _key_components(specs, state, item.id, excluded)
    if item.fixed_amounts_cents:
        if item.vat is not None and item.vat.mode == "added":
            raise AllocationError(f"{item.id}: fixed amounts need VAT mode 'included'")
        comps.insert(0, _fixed_component(item.fixed_amounts_cents, state, item.id))
    _emit(state, item_id=item.id, label=label, kind="allocated", total_cents=item.total_cents,
          comps=comps, legal=legal, vat=item.vat)


def _fixed_component(amounts: dict[str, int], state: _State, item: str) -> _Component:
    """Fixed amounts per unit, shared by a unit's users by days (vacancy: the owner)."""
    p = state.data.period
    cents = [0] * len(state.parties)
    weights = [Fraction(0)] * len(state.parties)
    for unit_id, amount in amounts.items():
        idx = [i for i, party in enumerate(state.parties) if party.unit_id == unit_id]
        days = [time_share(state.parties[i].start, state.parties[i].end, p.start, p.end)
                for i in idx]
        split = split_by_weights(amount, days, [state.ids[i] for i in idx], item=item)
        for i, c in zip(idx, split, strict=True):
            cents[i] = c
            weights[i] = Fraction(c)
    return _Component("fixed amount", "fixed", "cents", Fraction(0), weights,
                      ("fixed amount by contract",), fixed_cents=cents)


def _estimated_area(state: _State, meter: str, fixed_key: str) -> tuple[Fraction, Fraction]:
    total = Fraction(0)
    affected = Fraction(0)
    for p in state.parties:
        value = key_value(fixed_key, p, state.units[p.unit_id], state.data)
        total += value
        if meter in p.estimated:
            affected += value
    return affected, total


def _heat(state: _State, *, item_id: str, label: str, kind: str, total_cents: int,
          spec: HeatSplitSpec, paragraph: str, conditions, heat_supply: bool, time_basis: str,
          summer: str, vat: VatSpec | None, derivation: dict[str, Any] | None = None,
          notes: tuple[str, ...] = ()) -> None:
    on = state.data.period.start
    meter = spec.meter or ("heat" if paragraph == "7" else "hot_water")
    affected, total_area = _estimated_area(state, meter, spec.fixed_key)
    share = consumption_share(spec, paragraph=paragraph, on=on, conditions=conditions,
                              heat_supply=heat_supply, estimated_area=affected,
                              total_area=total_area, item=item_id)
    basis = time_basis if paragraph == "7" else "days"
    fixed_w = [key_value(spec.fixed_key, p, state.units[p.unit_id], state.data,
                         time_basis=basis, summer=summer, item=item_id) for p in state.parties]
    fixed_note = ("§ 9b Abs. 2: change of user by degree-day shares (VDI 2067 Bl. 1 Tab. 22)",
                  ) if basis == "degree_days" and any(
        (p.start, p.end) != (state.data.period.start, state.data.period.end)
        for p in state.parties) else ()
    comps = [_Component(f"fixed costs ({spec.fixed_key})", spec.fixed_key,
                        key_unit(spec.fixed_key), 100 - share.pct, fixed_w,
                        fixed_note + share.reasons)]
    if share.pct:
        cons_w = [key_value("consumption", p, state.units[p.unit_id], state.data, meter=meter,
                            time_basis=basis, summer=summer, item=item_id)
                  for p in state.parties]
        comps.append(_Component("consumption costs", "consumption", meter, share.pct, cons_w))
    deriv = dict(derivation or {})
    deriv.update(share.derivation)
    legal = f"HeizkostenV § {paragraph}"
    shares = _emit(state, item_id=item_id, label=label, kind=kind, total_cents=total_cents,
                   comps=comps, legal=legal, vat=vat, derivation=deriv, extra_notes=notes)
    state.heat_shares.append((item_id, label, share.cut_15, shares))


def _heating(item: HeatingItem, state: _State) -> None:
    paragraph = "7" if item.kind == "heating" else "8"
    label = item.label or ("Heizkosten" if paragraph == "7" else "Warmwasserkosten")
    _heat(state, item_id=item.id, label=label, kind=item.kind, total_cents=item.total_cents,
          spec=item.split, paragraph=paragraph, conditions=item.conditions,
          heat_supply=item.heat_supply, time_basis=item.fixed_time_basis,
          summer=item.summer_split, vat=item.vat)


def _combined(item: CombinedItem, state: _State) -> None:
    area = sum((Fraction(u.living_area_m2) for u in state.data.units), Fraction(0))
    split = combined_split(item, state.data.period.start, area)
    deriv = dict(split.derivation)
    deriv["split_into"] = [f"{item.id}.hot_water", f"{item.id}.heating"]
    state.items.append(ItemResult(item.id, item.kind, item.label or item.id, item.total_cents,
                                  {}, "HeizkostenV § 9", deriv))
    common = dict(conditions=item.conditions, heat_supply=item.system == "heat_supply",
                  time_basis=item.fixed_time_basis, summer=item.summer_split, vat=item.vat)
    _heat(state, item_id=f"{item.id}.hot_water", label="Warmwasserkosten", kind="hot_water",
          total_cents=split.hot_water_cents, spec=item.hot_water, paragraph="8",
          derivation=deriv, notes=split.explanation, **common)
    _heat(state, item_id=f"{item.id}.heating", label="Heizkosten", kind="heating",
          total_cents=split.heating_cents, spec=item.heating, paragraph="7",
          derivation=deriv, notes=("heating = joint costs − hot water (§ 9 Abs. 1 Satz 4)",),
          **common)
    a = state.party_cents[f"{item.id}.hot_water"]
    b = state.party_cents[f"{item.id}.heating"]
    state.party_cents[item.id] = {k: a[k] + b[k] for k in a}


def _co2(item: Co2Item, state: _State) -> None:
    p = state.data.period
    area = sum((Fraction(u.living_area_m2) for u in state.data.units), Fraction(0))
    split = co2_split(item, area, p.start, p.end)
    legal = "CO2KostAufG §§ 5-8, Anlage"
    like_id = item.included_in or item.apportion_like
    if like_id is not None:
        if like_id not in state.party_cents:
            raise AllocationError(f"{item.id}: {like_id!r} must come earlier in cost_items")
        like = state.party_cents[like_id]
        weights = [Fraction(like[party.party_id]) for party in state.parties]
        key, unit = "like " + like_id, "cents"
    else:
        weights = [key_value("living_area", party, state.units[party.unit_id], state.data)
                   for party in state.parties]
        key, unit = "living_area", "m²"
    if item.included_in is not None:
        # the CO2 cost is inside the heating total: credit the landlord's share
        name = f"landlord's CO2 share credited ({exact_str(split.landlord_pct)} %)"
        total = -split.landlord_cents
    else:
        name = f"tenants' CO2 share ({exact_str(split.tenant_pct)} %)"
        total = split.tenant_cents
    comps = [_Component(name, key, unit, Fraction(100), weights)]
    _emit(state, item_id=item.id, label=item.label or "CO2-Kosten", kind="co2_cost",
          total_cents=total, comps=comps, legal=legal,
          derivation=split.derivation, extra_notes=split.explanation)
    if split.landlord_cents:
        state.landlord.append(LandlordLine(
            item.id, f"landlord's CO2 share {exact_str(split.landlord_pct)} %",
            split.landlord_cents, legal))


def _shared(item: SharedItem, state: _State) -> None:
    sub = Fraction(0)
    if item.meter:
        sub = sum((Fraction(p.consumption.get(item.meter, 0)) for p in state.parties), Fraction(0))
    total, note = shared_total_cents(item, sub)
    comps = _key_components(shared_components(item), state, item.id, set(item.excluded_units))
    deriv = {"method": item.method, "total_cents": total}
    _emit(state, item_id=item.id, label=item.label or "公摊费用", kind="cn_shared",
          total_cents=total, comps=comps, legal=LEGAL_BASIS[item.method], derivation=deriv,
          extra_notes=(note,) if note else ())


def _direct_line(state: _State, party: Party, *, item_id: str, label: str, component: str,
                 key: str, unit: str, value: str, amount: int, legal: str,
                 notes: tuple[str, ...] = ()) -> None:
    state.lines.setdefault(party.party_id, []).append(BillLine(
        item_id=item_id, item=label, component=component, key=key, key_unit=unit,
        unit_key_value=value, total_key_value=value, share="1", item_total_cents=amount,
        amount_cents=amount, legal_basis=legal, explanation=notes))


_TARIFF_LABEL = {"electricity": "阶梯电价", "water": "阶梯水价"}
_FEE_LABEL = {"cn_property_fee": "物业费", "cn_parking_fee": "停车费"}


def _tiered(item: TieredTariffItem, state: _State) -> None:
    shares: dict[str, int] = {}
    per_party: dict[str, Any] = {}
    for party in state.parties:
        qty = Fraction(party.consumption.get(item.meter, 0))
        if item.meter not in party.consumption and not party.vacancy:
            raise AllocationError(f"{item.id}: unit {party.unit_id} has no {item.meter!r} reading")
        extra = Fraction(0)
        if item.persons_allowance and party.persons > item.persons_allowance.above_persons:
            extra = (Fraction(party.persons) - item.persons_allowance.above_persons) * Fraction(
                item.persons_allowance.per_person)
        charge = tiered_charge(qty, region=item.region, utility=item.utility, supply=item.supply,
                               basis=item.tier_basis, start=party.start, end=party.end,
                               extra_bound=extra)
        shares[party.party_id] = charge.total_cents
        per_party[party.party_id] = charge.derivation()
        notes = tuple(
            f"tier {t.tier}: {exact_str(t.quantity)} × {exact_str(t.price)} = {exact_str(t.amount)}"
            for t in charge.tiers
        ) + tuple(f"{k}: {v}" for k, v in charge.components_cents.items())
        if qty or charge.total_cents:
            _direct_line(state, party, item_id=item.id,
                         label=item.label or _TARIFF_LABEL[item.utility],
                         component="tiered tariff", key="consumption", unit=item.meter,
                         value=exact_str(qty), amount=charge.total_cents,
                         legal=f"{item.region} tiered {item.utility} tariff", notes=notes)
    state.items.append(ItemResult(item.id, item.kind, item.label or item.id, sum(shares.values()),
                                  shares, f"{item.region} tiered {item.utility} tariff",
                                  {"per_party": per_party}))
    state.party_cents[item.id] = shares


def _fee(item: PropertyFeeItem, state: _State) -> None:
    shares = {}
    for party in state.parties:
        unit = state.units[party.unit_id]
        qty = Fraction(unit.living_area_m2) if item.kind == "cn_property_fee" else Fraction(
            unit.parking_spaces)
        cents, months = monthly_fee_cents(Fraction(item.price_per_month), qty, party.start,
                                          party.end)
        shares[party.party_id] = cents
        if cents:
            what = "m²" if item.kind == "cn_property_fee" else "spaces"
            _direct_line(state, party, item_id=item.id,
                         label=item.label or _FEE_LABEL[item.kind],
                         component="monthly fee", key="months", unit=what, value=exact_str(qty),
                         amount=cents, legal="property service contract (民法典 Art. 937 ff.)",
                         notes=(f"{exact_str(qty)} {what} × {exact_str(item.price_per_month)} × "
                                f"{exact_str(months)} months",))
    state.items.append(ItemResult(item.id, item.kind, item.label or item.id, sum(shares.values()),
                                  shares, "contract"))
    state.party_cents[item.id] = shares


def _unit_party(state: _State, unit_id: str) -> Party:
    candidates = [p for p in state.parties if p.unit_id == unit_id]
    tenants = [p for p in candidates if not p.vacancy]
    return (tenants or candidates)[-1]


def _interest(item: DefaultInterestItem, state: _State) -> None:
    cents, exact, why = default_interest(item.principal_cents, item.interest_from,
                                         item.interest_to_inclusive, item.debtor, item.day_count)
    party = _unit_party(state, item.unit)
    legal = "§ 288 Abs. 1 BGB" if item.debtor == "consumer" else "§ 288 Abs. 2 BGB"
    days = (item.interest_to_inclusive - item.interest_from).days + 1
    _direct_line(state, party, item_id=item.id, label=item.label or "Verzugszinsen",
                 component="default interest", key="days", unit=item.day_count,
                 value=str(days), amount=cents, legal=legal, notes=tuple(why))
    state.items.append(ItemResult(item.id, item.kind, item.label or item.id, cents,
                                  {party.party_id: cents}, legal,
                                  {"interest_exact_cents": exact_str(exact), "days": days}))


def _late_fee(item: ElectricityLateFeeItem, state: _State) -> None:
    cents, why = cn_electricity_late_fee(item.arrears_cents, item.prior_year_arrears_cents,
                                         item.days_overdue, item.user)
    party = _unit_party(state, item.unit)
    legal = "供电营业规则 (1996) 第九十八条"
    _direct_line(state, party, item_id=item.id, label=item.label or "电费违约金",
                 component="late fee", key="days", unit="days", value=str(item.days_overdue),
                 amount=cents, legal=legal, notes=tuple(why))
    state.items.append(ItemResult(item.id, item.kind, item.label or item.id, cents,
                                  {party.party_id: cents}, legal))


_HANDLERS = {
    "allocated": _allocated,
    "heating": _heating,
    "hot_water": _heating,
    "heating_hot_water_combined": _combined,
    "co2_cost": _co2,
    "cn_shared": _shared,
    "cn_tiered_tariff": _tiered,
    "cn_property_fee": _fee,
    "cn_parking_fee": _fee,
    "default_interest": _interest,
    "cn_electricity_late_fee": _late_fee,
}


def _cuts(state: _State) -> None:
    """HeizkostenV § 12 Abs. 1 cuts, each on the party's summed share of the items it covers.

    The cut is taken on the user's share as shown in the bill (BGH VIII ZR
    329/14), so heating and hot water covered by the same cut are added
    before the percentage is rounded once, half-up.
    """
    duties = state.data.heizkostenv
    on = state.data.period.start
    bases: dict[tuple[Fraction, str], dict[str, int]] = {}
    labels: dict[tuple[Fraction, str], list[str]] = {}
    for _item_id, label, cut_15, shares in state.heat_shares:
        cuts = tenant_cut_pcts(not_by_consumption=cut_15,
                               remote_missing=duties.remote_reading_missing,
                               info_missing=duties.monthly_information_missing,
                               owners_association=duties.owners_association, on=on)
        for cut in cuts:
            per_party = bases.setdefault(cut, {})
            labels.setdefault(cut, []).append(label)
            for party_id, cents in shares.items():
                per_party[party_id] = per_party.get(party_id, 0) + cents
    for (pct, citation), per_party in bases.items():
        what = " + ".join(labels[(pct, citation)])
        cut_id = "heizkostenv-cut-" + citation.split()[-1] + "-" + exact_str(pct)
        total = 0
        for party in state.parties:
            base = per_party.get(party.party_id, 0)
            if party.vacancy or base <= 0:
                continue
            cut = cut_cents(base, pct)
            total += cut
            state.lines.setdefault(party.party_id, []).append(BillLine(
                item_id=cut_id, item="tenant's cut", component=what,
                key="pct", key_unit="", unit_key_value=exact_str(pct),
                total_key_value="100", share=exact_str(pct / 100), item_total_cents=base,
                amount_cents=-cut, legal_basis=f"HeizkostenV {citation}",
                explanation=(f"{exact_str(pct)} % of {cents_str(base)} = {cents_str(cut)} "
                             "(half-up)",)))
        if total:
            state.landlord.append(LandlordLine(
                cut_id, f"tenants' cut {exact_str(pct)} % ({citation}) on {what}", total,
                f"HeizkostenV {citation}"))


def apportion_building(data: ApportionInput) -> ApportionResult:
    """Apportion every cost item of one building and period; return the bills."""
    state = _State(data=data, parties=parties_of(data), units={u.id: u for u in data.units})
    for item in data.cost_items:
        _HANDLERS[item.kind](item, state)
    _cuts(state)
    bills = []
    currency = data.building.currency
    for party in state.parties:
        bills.append(Bill(
            party_id=party.party_id,
            unit_id=party.unit_id,
            tenant=party.tenant,
            language=party.language,
            currency=currency,
            period_start=data.period.start,
            period_end=data.period.end,
            occupied_from=party.start,
            occupied_to=party.end,
            lines=tuple(state.lines.get(party.party_id, [])),
            prepayments_cents=party.prepayments_cents,
        ))
    return ApportionResult(data.building.id, currency, data.period.start, data.period.end,
                           tuple(state.items), tuple(bills), tuple(state.landlord))
