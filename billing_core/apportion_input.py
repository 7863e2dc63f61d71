"""The documented JSON input of ``meterbill apportion``: a building for one period.

The file describes units (areas, shares, floors), their occupancies (tenant,
dates, persons, interim readings, prepayments), and the cost items with the
rule each follows (HeizkostenV, CO2KostAufG, BetrKV, Chinese 公摊 and tiered
tariffs, default interest).  The JSON Schema in
``docs/apportion-input.schema.json`` is generated from these dataclasses
(``input_json_schema()``), so the document and the validator cannot drift.

Why pydantic dataclasses: the same definitions validate, give the schema and
name the JSON path of every error (``units[3].living_area_m2: must be > 0``),
which is what a property manager needs to fix a hand-written file.

Money is integer minor units (``*_cents``: cents or fen); quantities are
decimal strings (or JSON integers), never binary floats.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass
from pydantic.json_schema import WithJsonSchema

from billing_core.errors import BillingError


class ApportionInputError(BillingError):
    """The apportionment input is not valid; ``errors`` lists ``path: message``."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s)\n" + "\n".join(errors))


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("write decimals as strings (\"12.5\"), not binary floats")
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a plain decimal number like \"12.5\"")
    return value


_DEC_SCHEMA = {
    "anyOf": [
        {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
        {"type": "integer"},
    ],
    "description": "exact decimal as a string (or an integer)",
}

Dec = Annotated[Decimal, BeforeValidator(_no_float), WithJsonSchema(_DEC_SCHEMA)]
PosDec = Annotated[Decimal, BeforeValidator(_no_float), Field(gt=0), WithJsonSchema(
    {**_DEC_SCHEMA, "description": "exact decimal > 0 as a string (or an integer)"})]
NonNegDec = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0), WithJsonSchema(
    {**_DEC_SCHEMA, "description": "exact decimal >= 0 as a string (or an integer)"})]
Pct = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, le=100), WithJsonSchema(
    {**_DEC_SCHEMA, "description": "percentage 0..100 as a decimal string"})]
Cents = Annotated[int, Strict()]
NonNegCents = Annotated[int, Strict(), Field(ge=0)]
Language = Literal["de", "en", "zh", "nb"]
Id = Annotated[str, Field(min_length=1, max_length=64)]

_CFG = ConfigDict(extra="forbid", frozen=True)


@dataclass(config=_CFG)
class Period:
    """Billing period, both dates inclusive."""

    start: date
    end: date


@dataclass(config=_CFG)
class Reading:
    """A meter reading from the store, shown on the bill to explain a consumption.

    ``kind`` flags readings that were not read off the meter: ``interpolated``
    (to the period boundary or a move date) or ``estimated`` (HeizkostenV § 9a).
    """

    read_on: date
    value: NonNegDec
    kind: Literal["read", "interpolated", "estimated"] = "read"


@dataclass(config=_CFG)
class EstimateSpec:
    """How to estimate a meter whose recording failed (HeizkostenV § 9a Abs. 1).

    ``earlier_period``: the same rooms' consumption in a comparable earlier
    period (``earlier_consumption``); ``comparable_units``: the per-m²
    consumption of the named units in this period; ``building_average``: the
    per-m² consumption of all measured users of the building.  Per-m² rates
    are scaled by the user's share of the period (days, or degree days for
    heat with ``time_basis: degree_days``).
    """

    basis: Literal["earlier_period", "comparable_units", "building_average"]
    units: list[str] = field(default_factory=list)
    earlier_consumption: NonNegDec | None = None
    time_basis: Literal["days", "degree_days"] = "days"


@dataclass(config=_CFG)
class Occupancy:
    """One user of a unit for part of the period (HeizkostenV § 9b: change of user).

    ``consumption`` holds the meter values of this user (from the interim
    reading); ``estimated`` lists meters whose value was estimated (§ 9a);
    ``notes`` carries per-meter explanations; ``readings`` the meter readings
    behind a consumption (without ``consumption`` for a meter, its consumption
    is the last reading minus the first).
    """

    tenant: Id
    start: date
    end: date
    persons: NonNegDec = Decimal(1)
    language: Language | None = None
    prepayments_cents: Cents = 0
    consumption: dict[str, NonNegDec] = field(default_factory=dict)
    estimated: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    readings: dict[str, list[Reading]] = field(default_factory=dict)
    estimate: dict[str, EstimateSpec] = field(default_factory=dict)


@dataclass(config=_CFG)
class Unit:
    """A flat, shop or household.  Without occupancies it is one user for the whole period.

    With occupancies, the days no occupancy covers are vacancy, borne by the
    owner, and ``consumption`` is the vacancy's consumption — unless
    ``no_interim_reading`` is set (HeizkostenV § 9b Abs. 3): then
    ``consumption`` is the whole unit's, and its users share it by the fixed-cost
    basis (degree days for heating, days otherwise).
    """

    id: Id
    living_area_m2: PosDec
    heated_area_m2: NonNegDec | None = None
    enclosed_volume_m3: NonNegDec | None = None
    ownership_share: NonNegDec | None = None
    floor: int | None = None
    persons: NonNegDec = Decimal(1)
    tenant: str | None = None
    language: Language | None = None
    prepayments_cents: Cents = 0
    parking_spaces: Annotated[int, Field(ge=0)] = 0
    no_interim_reading: bool = False
    consumption: dict[str, NonNegDec] = field(default_factory=dict)
    estimated: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    readings: dict[str, list[Reading]] = field(default_factory=dict)
    estimate: dict[str, EstimateSpec] = field(default_factory=dict)
    occupancies: list[Occupancy] = field(default_factory=list)


KeyKind = Literal[
    "living_area",
    "heated_area",
    "enclosed_volume",
    "person_days",
    "units",
    "ownership_shares",
    "consumption",
]


@dataclass(config=_CFG)
class KeyComponent:
    """``pct`` % of an item split by one key (a mix of keys is a list of these)."""

    key: KeyKind
    pct: Pct
    meter: str | None = None


@dataclass(config=_CFG)
class VatSpec:
    """VAT on a cost item: ``rate_pct`` and whether the total already contains it."""

    rate_pct: Pct
    mode: Literal["included", "added"] = "included"


@dataclass(config=_CFG)
class AllocatedItem:
    """A cost split by keys: BetrKV operating costs, 公摊, or any contractual item.

    Without ``components`` the key is the default of the BetrKV number
    (§ 556a Abs. 1 BGB: living area) or, with no number, living area
    (民法典 Art. 283: exclusive area).  ``fixed_amounts_cents`` are charged
    first; the rest is split by the components.  ``excluded_units`` and
    ``excluded_floors`` bear none of the item by contract (the ground floor
    and the lift, say).
    """

    kind: Literal["allocated"]
    id: Id
    total_cents: Cents
    label: str | None = None
    betrkv_number: Annotated[int, Field(ge=1, le=17)] | None = None
    components: list[KeyComponent] = field(default_factory=list)
    excluded_units: list[str] = field(default_factory=list)
    excluded_floors: list[int] = field(default_factory=list)
    fixed_amounts_cents: dict[str, NonNegCents] = field(default_factory=dict)
    vat: VatSpec | None = None


@dataclass(config=_CFG)
class BuildingConditions:
    """Facts behind the mandatory 70 % of HeizkostenV § 7 Abs. 1 Satz 2."""

    below_waermeschutzv_1994: bool = False
    oil_or_gas_heating: bool = False
    exposed_pipes_mostly_insulated: bool = False


@dataclass(config=_CFG)
class HeatSplitSpec:
    """Consumption share and fixed key of heating (§ 7) or hot water (§ 8)."""

    consumption_share_pct: Pct | None = None
    meter: str | None = None
    fixed_key: Literal["living_area", "heated_area", "enclosed_volume"] = "living_area"
    contract_above_70: bool = False
    billed_by_consumption: bool = True


@dataclass(config=_CFG)
class HeatingItem:
    """Heating costs under HeizkostenV § 7 (``kind: heating``) or hot water § 8."""

    kind: Literal["heating", "hot_water"]
    id: Id
    total_cents: Cents
    label: str | None = None
    split: HeatSplitSpec = field(default_factory=HeatSplitSpec)
    conditions: BuildingConditions = field(default_factory=BuildingConditions)
    heat_supply: bool = False
    fixed_time_basis: Literal["degree_days", "days"] = "degree_days"
    summer_split: Literal["per_month", "per_summer_day"] = "per_month"
    vat: VatSpec | None = None


@dataclass(config=_CFG)
class CombinedItem:
    """Joint costs of a combined heating and hot-water system (HeizkostenV § 9).

    The hot-water heat Q is taken from ``hot_water_heat_kwh`` (heat meter),
    else Q = 2.5 × V × (tw − 10), else Q = 32 × A; the factors of § 9 Abs. 2
    Satz 6 apply by ``system`` and ``gas_billed_on_gross_calorific_value``.
    The hot-water share is Q / ``total_energy_kwh`` or, for boilers billed in
    fuel units, B / ``fuel_quantity`` with B = Q / Hi (§ 9 Abs. 3).
    """

    kind: Literal["heating_hot_water_combined"]
    id: Id
    total_cents: Cents
    system: Literal["boiler", "heat_supply", "heat_pump"] = "boiler"
    label: str | None = None
    hot_water_heat_kwh: NonNegDec | None = None
    hot_water_volume_m3: NonNegDec | None = None
    hot_water_mean_temp_c: Dec | None = None
    area_supplied_with_hot_water_m2: NonNegDec | None = None
    gas_billed_on_gross_calorific_value: bool = False
    fuel: str | None = None
    fuel_quantity: PosDec | None = None
    hi_from_invoice: PosDec | None = None
    total_energy_kwh: PosDec | None = None
    heating: HeatSplitSpec = field(default_factory=HeatSplitSpec)
    hot_water: HeatSplitSpec = field(default_factory=HeatSplitSpec)
    conditions: BuildingConditions = field(default_factory=BuildingConditions)
    fixed_time_basis: Literal["degree_days", "days"] = "degree_days"
    summer_split: Literal["per_month", "per_summer_day"] = "per_month"
    vat: VatSpec | None = None


@dataclass(config=_CFG)
class Co2Item:
    """CO2 costs of the fuel (CO2KostAufG): landlord's share by the building's step.

    Either ``co2_cost_cents`` and ``co2_kg`` from the supplier's invoice (§ 3),
    or the energy and factors to compute them (``co2_vat_rate_pct`` adds VAT to
    the price component, § 3 Abs. 3).  When the CO2 cost is already part of a
    heating item's total (the fuel invoice contains it), name that item in
    ``included_in``: the landlord's share is then credited to the users like
    that item.  Otherwise the tenants' part is charged as its own item, split
    like ``apportion_like`` (the heating costs) or by living area.
    """

    kind: Literal["co2_cost"]
    id: Id
    building_type: Literal["residential", "nonresidential"] = "residential"
    label: str | None = None
    co2_cost_cents: NonNegCents | None = None
    co2_kg: NonNegDec | None = None
    energy_kwh_hs: NonNegDec | None = None
    hs_to_hi_factor: PosDec | None = None
    energy_kwh_hi: NonNegDec | None = None
    emission_factor_kg_per_kwh_hi: NonNegDec | None = None
    co2_price_eur_per_t: NonNegDec | None = None
    living_area_m2: PosDec | None = None
    co2_vat_rate_pct: Pct | None = None
    apportion_like: str | None = None
    included_in: str | None = None
    constraint_building: bool = False
    constraint_heat_supply: bool = False
    heating_system_gmodg_43: bool = False


@dataclass(config=_CFG)
class SharedItem:
    """Shared (公摊) electricity or water of a building (民法典 Art. 283).

    ``method``: ``area`` (the legal default), ``household`` or ``consumption``
    (the loss between master and household meters by metered use; needs an
    agreement).  With ``master_meter`` and ``price_per_unit`` the loss is
    priced from the meters instead of ``total_cents``.
    """

    kind: Literal["cn_shared"]
    id: Id
    method: Literal["area", "household", "consumption"] = "area"
    total_cents: NonNegCents | None = None
    meter: str | None = None
    master_meter: NonNegDec | None = None
    price_per_unit: NonNegDec | None = None
    label: str | None = None
    excluded_units: list[str] = field(default_factory=list)


@dataclass(config=_CFG)
class PersonsAllowance:
    """Tier bounds raised for households above ``above_persons`` (where the local rule allows)."""

    above_persons: Annotated[int, Field(ge=0)]
    per_person: NonNegDec


@dataclass(config=_CFG)
class TieredTariffItem:
    """A household's tiered residential tariff (阶梯电价/水价), billed per user.

    Bounds of an annual tariff are pro-rated by the days of a user who is
    there for part of the year.
    """

    kind: Literal["cn_tiered_tariff"]
    id: Id
    utility: Literal["electricity", "water"]
    meter: str
    region: str = "Beijing"
    supply: str | None = None
    tier_basis: Literal["annual", "monthly"] = "annual"
    label: str | None = None
    persons_allowance: PersonsAllowance | None = None


@dataclass(config=_CFG)
class PropertyFeeItem:
    """Property-management fee (物业费) by area and month, or parking by space and month."""

    kind: Literal["cn_property_fee", "cn_parking_fee"]
    id: Id
    price_per_month: NonNegDec
    label: str | None = None


@dataclass(config=_CFG)
class DefaultInterestItem:
    """Default interest on arrears of one unit (§ 288 BGB with § 247 base rate)."""

    kind: Literal["default_interest"]
    id: Id
    unit: Id
    principal_cents: NonNegCents
    interest_from: date
    interest_to_inclusive: date
    debtor: Literal["consumer", "business"] = "consumer"
    day_count: Literal["ACT/365", "ACT/360"] = "ACT/365"
    label: str | None = None


@dataclass(config=_CFG)
class ElectricityLateFeeItem:
    """Electricity late-payment penalty (供电营业规则 1996 Art. 98) of one unit."""

    kind: Literal["cn_electricity_late_fee"]
    id: Id
    unit: Id
    arrears_cents: NonNegCents
    days_overdue: Annotated[int, Field(ge=0)]
    user: Literal["residential", "other"] = "residential"
    prior_year_arrears_cents: NonNegCents = 0
    label: str | None = None


CostItem = Annotated[
    AllocatedItem
    | HeatingItem
    | CombinedItem
    | Co2Item
    | SharedItem
    | TieredTariffItem
    | PropertyFeeItem
    | DefaultInterestItem
    | ElectricityLateFeeItem,
    Field(discriminator="kind"),
]


@dataclass(config=_CFG)
class HeizkostenVDuties:
    """Facts for the tenant's cuts of HeizkostenV § 12 Abs. 1 Satz 2-4."""

    remote_reading_missing: bool = False
    monthly_information_missing: bool = False
    owners_association: bool = False


@dataclass(config=_CFG)
class Building:
    """The building's identity, country, currency and default language."""

    id: Id
    country: Literal["DE", "CN", "NO", "OTHER"] = "DE"
    currency: Literal["EUR", "CNY", "NOK"] = "EUR"
    language: Language = "de"
    name: str | None = None
    address: str | None = None


@dataclass(config=_CFG)
class ApportionInput:
    """One building and one billing period: everything ``meterbill apportion`` needs.

    ``betrkv_keys`` sets the property's own key per BetrKV number (e.g. 8:
    person-days for waste), used by items of that number without components.
    """

    building: Building
    period: Period
    units: Annotated[list[Unit], Field(min_length=1)]
    cost_items: list[CostItem]
    heizkostenv: HeizkostenVDuties = field(default_factory=HeizkostenVDuties)
    betrkv_keys: dict[Annotated[int, Field(ge=1, le=17)], list[KeyComponent]] = field(
        default_factory=dict)
    schema_version: Literal[1] = 1


_ADAPTER = TypeAdapter(ApportionInput)


def input_json_schema() -> dict[str, Any]:
    """The JSON Schema of the input (published as docs/apportion-input.schema.json)."""
    schema = _ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://meterbill.example/schemas/apportion-input.schema.json"
    return schema


def _json_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _DISCRIMINATOR_TAGS:
            continue  # pydantic adds the union member's tag; it is not in the JSON
        else:
            out += ("." if out else "") + str(part)
    return out or "$"


_DISCRIMINATOR_TAGS = {
    "allocated", "heating", "hot_water", "heating_hot_water_combined", "co2_cost",
    "cn_shared", "cn_tiered_tariff", "cn_property_fee", "cn_parking_fee",
    "default_interest", "cn_electricity_late_fee", "function-after", "function-before",
    "lax-or-strict", "decimal", "str",
}


def _message(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}"
    if kind == "missing":
        return "required field is missing"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown field"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return err["msg"]


def _semantic_errors(data: ApportionInput) -> list[str]:
    """Cross-field checks a schema cannot express (ids unique, dates inside the period)."""
    errors: list[str] = []
    p = data.period
    if p.end < p.start:
        errors.append("period.end: must not be before period.start")
    seen: set[str] = set()
    for i, unit in enumerate(data.units):
        if unit.id in seen:
            errors.append(f"units[{i}].id: duplicate unit id {unit.id!r}")
        seen.add(unit.id)
        spans = sorted(unit.occupancies, key=lambda o: o.start)
        for j, occ in enumerate(unit.occupancies):
            where = f"units[{i}].occupancies[{j}]"
            if occ.end < occ.start:
                errors.append(f"{where}.end: must not be before start")
            if occ.end < p.start or occ.start > p.end:
                errors.append(f"{where}: lies outside the period {p.start}..{p.end}")
        for a, b in itertools.pairwise(spans):
            if b.start <= a.end:
                errors.append(
                    f"units[{i}].occupancies: {a.tenant!r} and {b.tenant!r} overlap on "
                    f"{b.start.isoformat()}"
                )
    item_ids: set[str] = set()
    for k, item in enumerate(data.cost_items):
        if item.id in item_ids:
            errors.append(f"cost_items[{k}].id: duplicate item id {item.id!r}")
        item_ids.add(item.id)
        for name in getattr(item, "excluded_units", []):
            if name not in seen:
                errors.append(f"cost_items[{k}].excluded_units: unknown unit {name!r}")
        for name in getattr(item, "fixed_amounts_cents", {}):
            if name not in seen:
                errors.append(f"cost_items[{k}].fixed_amounts_cents: unknown unit {name!r}")
        unit_ref = getattr(item, "unit", None)
        if isinstance(unit_ref, str) and unit_ref not in seen:
            errors.append(f"cost_items[{k}].unit: unknown unit {unit_ref!r}")
        comps = getattr(item, "components", [])
        if comps and sum(c.pct for c in comps) != 100:
            errors.append(
                f"cost_items[{k}].components: percentages add up to "
                f"{sum(c.pct for c in comps)}, not 100"
            )
        for c_i, comp in enumerate(comps):
            if comp.key == "consumption" and not comp.meter:
                errors.append(
                    f"cost_items[{k}].components[{c_i}].meter: required for key consumption")
    for number, comps in data.betrkv_keys.items():
        if comps and sum(c.pct for c in comps) != 100:
            errors.append(f"betrkv_keys.{number}: percentages add up to "
                          f"{sum(c.pct for c in comps)}, not 100")
    for k, item in enumerate(data.cost_items):
        for attr in ("apportion_like", "included_in"):
            ref = getattr(item, attr, None)
            if ref is not None and ref not in item_ids:
                errors.append(f"cost_items[{k}].{attr}: unknown cost item {ref!r}")
    return errors


def parse_apportion_input(raw: Any, source: str = "<input>") -> ApportionInput:
    """Validate decoded JSON and return the dataclasses, or raise ApportionInputError."""
    try:
        data = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        errors = [f"{_json_path(e['loc'])}: {_message(e)}" for e in exc.errors()]
        raise ApportionInputError(source, errors) from None
    errors = _semantic_errors(data)
    if errors:
        raise ApportionInputError(source, errors)
    return data


def load_apportion_input(path: Path) -> ApportionInput:
    """Read and validate a building file; JSON syntax errors name line and column."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApportionInputError(
            str(path), [f"line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    return parse_apportion_input(raw, str(path))
