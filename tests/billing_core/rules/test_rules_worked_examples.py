"""Every worked example in shared/reference/worked_examples.csv, through ``meterbill apportion``.

Each row's published inputs are translated into our documented building file
(``docs/apportion-input.schema.json``) by the shape of its inputs — not by its
id — run through the CLI command with ``--format json``, and every expected
figure of the row is compared to the cent (or exactly, for quantities).
Inputs the example leaves open (a cost to split, a second unit's meter value)
are filled with neutral values that the expected figures do not depend on.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from billing_core.apportion_cli import apportion

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / "worked_examples.csv"
if not REFERENCE.is_file():  # the tree may be a clone beside shared/
    REFERENCE = Path("/work/shared/reference/worked_examples.csv")

ROWS = list(csv.DictReader(REFERENCE.read_text(encoding="utf-8").splitlines()))

_app = typer.Typer()
_app.command()(apportion)


def cents(eur: str) -> int:
    """Decimal string of main units → cents (must be exact)."""
    value = Decimal(eur) * 100
    assert value == value.to_integral_value(), eur
    return int(value)


def exact(text: str) -> Fraction:
    """Parse exact strings: a decimal, or ``a/b`` with decimal a and b ("5400/10.4")."""
    if "/" in text:
        num, den = text.split("/")
        return Fraction(Decimal(num)) / Fraction(Decimal(den))
    return Fraction(Decimal(text))


def run(tmp_path: Path, building: dict[str, Any]) -> dict[str, Any]:
    """Write the building file and run ``apportion --format json`` on it."""
    path = tmp_path / "building.json"
    path.write_text(json.dumps(building, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(_app, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def item(out: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in out["items"] if i["item_id"] == item_id)


def bill(out: dict[str, Any], party_id: str) -> dict[str, Any]:
    return next(b for b in out["bills"] if b["party_id"] == party_id)


def de_building(units, items, start="2025-01-01", end="2025-12-31", **extra):
    return {"building": {"id": "WE"}, "period": {"start": start, "end": end},
            "units": units, "cost_items": items, **extra}


# --- checks by the shape of the published inputs ---------------------------------


def check_combined(tmp_path: Path, inp: dict, exp: dict) -> None:
    """HeizkostenV § 9: Q by volume or area, factors, B = Q / Hi, hot-water share."""
    kind_text = inp.get("heating_system", "").casefold()
    system = "boiler"
    if "heat pump" in kind_text or "wärmepumpe" in kind_text:
        system = "heat_pump"
    elif any(w in kind_text for w in ("district", "fernwärme", "wärmeliefer", "heat supply")):
        system = "heat_supply"
    combined: dict[str, Any] = {"kind": "heating_hot_water_combined", "id": "joint",
                                "system": system,
                                "hot_water": {"consumption_share_pct": "50"},
                                "heating": {"consumption_share_pct": "50"}}
    if "hot_water_volume_m3" in inp:
        combined["hot_water_volume_m3"] = inp["hot_water_volume_m3"]
        combined["hot_water_mean_temp_c"] = inp["hot_water_mean_temp_c"]
    if "area_supplied_with_hot_water_m2" in inp:
        combined["area_supplied_with_hot_water_m2"] = inp["area_supplied_with_hot_water_m2"]
    if "hot_water_heat_kwh" in inp:
        combined["hot_water_heat_kwh"] = inp["hot_water_heat_kwh"]
    billed_on = inp.get("gas_billed_on", "")
    if "Brennwert" in billed_on or "Hs" in billed_on or "gross" in billed_on:
        combined["gas_billed_on_gross_calorific_value"] = True
    energy_keys = [k for k in inp if "_total_kwh" in k]
    quantity_keys = [k for k in inp if k.startswith("fuel_total_") and k != "fuel_total_kwh"]
    if quantity_keys and "fuel" in inp:
        combined["fuel"] = inp["fuel"]
        combined["fuel_quantity"] = inp[quantity_keys[0]]
        if "hi_from_invoice" in inp and inp["hi_from_invoice"] is not None:
            combined["hi_from_invoice"] = inp["hi_from_invoice"]
    elif energy_keys:
        combined["total_energy_kwh"] = inp[energy_keys[0]]
    else:
        combined["total_energy_kwh"] = "1000000"  # not part of the example
    combined["total_cents"] = cents(inp["joint_cost_eur"]) if "joint_cost_eur" in inp else 100000
    unit = {"id": "1", "living_area_m2": "100", "consumption": {"heat": "10", "hot_water": "1"}}
    start = inp.get("billing_period_start", "2025-01-01")
    end = f"{start[:4]}-12-31"
    out = run(tmp_path, de_building([unit], [combined], start=start, end=end))
    d = item(out, "joint")["derivation"]
    if "q_hot_water_kwh" in exp:
        assert exact(d["q_formula_kwh"]) == exact(exp["q_hot_water_kwh"])
    if "b_hot_water_fuel_l" in exp:
        assert exact(d["b_hot_water_fuel"]) == exact(exp["b_hot_water_fuel_l"])
        assert d["b_unit"] == "l"
    if "hot_water_fuel_share_pct_as_published" in exp:
        pct = exact(d["hot_water_share"]) * 100
        assert round(Decimal(pct.numerator) / pct.denominator, 2) == Decimal(
            exp["hot_water_fuel_share_pct_as_published"])
    for key in ("q_area_formula_kwh", "q_after_hs_factor_kwh", "q_formula_kwh",
                "q_after_heat_pump_factor_kwh", "hot_water_share"):
        if key in exp:
            assert exact(d[key]) == exact(exp[key]), key
    if "hot_water_cost_eur" in exp:
        assert d["hot_water_cost_cents"] == cents(exp["hot_water_cost_eur"])
        assert d["heating_cost_cents"] == cents(exp["heating_cost_eur"])
        assert item(out, "joint.hot_water")["total_cents"] == cents(exp["hot_water_cost_eur"])
        assert item(out, "joint.heating")["total_cents"] == cents(exp["heating_cost_eur"])


def check_fuel_cases(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 9 Abs. 3: B = Q / Hi, supplier's Hi before the table."""
    for case, want in zip(inp["cases"], exp["results"], strict=True):
        combined = {"kind": "heating_hot_water_combined", "id": "joint", "total_cents": 0,
                    "hot_water_heat_kwh": case["q_kwh"], "fuel": case["fuel"],
                    "fuel_quantity": "100000",
                    "hot_water": {"consumption_share_pct": "50"},
                    "heating": {"consumption_share_pct": "50"}}
        if case["hi_from_invoice"] is not None:
            combined["hi_from_invoice"] = case["hi_from_invoice"]
        unit = {"id": "1", "living_area_m2": "80", "consumption": {"heat": "1", "hot_water": "1"}}
        d = item(run(tmp_path, de_building([unit], [combined])), "joint")["derivation"]
        assert exact(d["hi_used"]) == exact(want["hi_used"])
        assert d["b_unit"] == want["unit"]
        b = exact(d["b_hot_water_fuel"])
        assert b == exact(want["b_exact"])
        if "b_rounded_2dp" in want:
            assert round(Decimal(b.numerator) / b.denominator, 2) == Decimal(want["b_rounded_2dp"])


def check_heating_variants(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 7 Abs. 1: consumption share and fixed key, per unit and part."""
    units = [{"id": u["id"], "living_area_m2": u["area_m2"],
              "consumption": {"heat": u["consumption_units"]}} for u in inp["units"]]
    for variant, want in zip(inp["variants"], exp["variants"], strict=True):
        heating = {"kind": "heating", "id": "heat",
                   "total_cents": cents(inp["heating_cost_total_eur"]),
                   "split": {"consumption_share_pct": variant["consumption_share_pct"]}}
        out = run(tmp_path, de_building(units, [heating]))
        for uid, eur in want["total_eur"].items():
            lines = bill(out, uid)["lines"]
            fixed = next(x for x in lines if x["component"].startswith("fixed"))
            cons = next(x for x in lines if x["component"].startswith("consumption"))
            assert fixed["amount_cents"] == cents(want["fixed_part_eur"][uid])
            assert cons["amount_cents"] == cents(want["consumption_part_eur"][uid])
            assert bill(out, uid)["charges_cents"] == cents(eur)


def check_estimation_limit(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 9a Abs. 2: the share of the area with estimated consumption against 25 %."""
    total = Decimal(inp["total_area_m2"])
    affected = Decimal(inp["area_with_estimated_consumption_m2"])
    units = [
        {"id": "measured", "living_area_m2": str(total - affected), "consumption": {"heat": "900"}},
        {"id": "estimated", "living_area_m2": str(affected), "consumption": {"heat": "300"},
         "estimated": ["heat"]},
    ]
    heating = {"kind": "heating", "id": "heat", "total_cents": 1000000,
               "split": {"consumption_share_pct": inp["agreed_consumption_share_pct"]}}
    out = run(tmp_path, de_building(units, [heating]))
    d = item(out, "heat")["derivation"]
    assert exact(d["affected_share_pct"]) == exact(exp["affected_share_pct"])
    assert d["exceeds_limit"] is exp["exceeds_limit"]
    assert exact(d["consumption_share_pct_applied"]) == exact(exp["consumption_share_pct_applied"])
    assert "estimated" in next(
        x for x in bill(out, "estimated")["lines"] if x["key"] == "consumption")["flags"]


def check_degree_days(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 9b Abs. 2: a user's fixed heating key by the degree-day shares of his months."""
    start, end = inp["billing_period"]
    occ_start, occ_end = inp["occupancy"]
    unit = {"id": "flat", "living_area_m2": inp["unit_area_m2"], "consumption": {"heat": "0"},
            "occupancies": [{"tenant": "T", "start": occ_start, "end": occ_end,
                             "consumption": {"heat": "100"}}]}
    other = {"id": "other", "living_area_m2": "100", "consumption": {"heat": "100"}}
    heating = {"kind": "heating", "id": "heat", "total_cents": 1000000,
               "split": {"consumption_share_pct": "50"}}
    out = run(tmp_path, de_building([unit, other], [heating], start=start, end=end))
    fixed = next(x for x in bill(out, "flat/T")["lines"] if x["component"].startswith("fixed"))
    assert exact(fixed["unit_key_value"]) == exact(exp["area_equivalent_m2"])
    assert exact(fixed["unit_key_value"]) / exact(inp["unit_area_m2"]) * 1000 == exact(
        exp["permille"])


def check_cut(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 12 Abs. 1 Satz 1: 15 % off the user's share when not billed by consumption."""
    share = cents(inp["user_share_of_heating_and_hot_water_costs_eur"])
    unit = {"id": "flat", "living_area_m2": "75"}
    heating = {"kind": "heating", "id": "heat", "total_cents": share,
               "split": {"billed_by_consumption": inp["billed_by_consumption"]}}
    out = run(tmp_path, de_building([unit], [heating]))
    lines = bill(out, "flat")["lines"]
    cut = next(x for x in lines if x["item"] == "tenant's cut")
    assert exact(cut["unit_key_value"]) == exact(exp["cut_pct"])
    assert cut["amount_cents"] == -cents(exp["cut_eur"])
    assert bill(out, "flat")["charges_cents"] == cents(exp["payable_eur"])


def check_co2(tmp_path: Path, inp: dict, exp: dict) -> None:
    """CO2KostAufG: cost from energy and factors, step, landlord's and tenants' parts."""
    unit = {"id": "house", "living_area_m2": inp["living_area_m2"]}
    co2 = {"kind": "co2_cost", "id": "co2", "energy_kwh_hs": inp["gas_consumption_kwh_hs"],
           "hs_to_hi_factor": inp["hs_to_hi_factor"],
           "emission_factor_kg_per_kwh_hi": inp["emission_factor_kg_per_kwh_hi"],
           "co2_price_eur_per_t": inp["co2_price_eur_per_t"]}
    out = run(tmp_path, de_building([unit], [co2]))
    d = item(out, "co2")["derivation"]
    assert exact(d["energy_kwh_hi"]) == exact(exp["energy_kwh_hi"])
    assert exact(d["co2_kg"]) == exact(exp["co2_kg"])
    assert d["co2_cost_cents"] == cents(exp["co2_cost_eur"])
    assert d["co2_kg_per_m2_a"] == exp["co2_kg_per_m2_a"]
    assert d["step"] == exp["step"]
    assert exact(d["tenant_pct"]) == exact(exp["tenant_pct"])
    assert exact(d["landlord_pct"]) == exact(exp["landlord_pct"])
    assert d["landlord_cents"] == cents(exp["landlord_eur"])
    assert bill(out, "house")["charges_cents"] == cents(exp["tenant_eur"])
    assert out["landlord"][0]["amount_cents"] == cents(exp["landlord_eur"])


def check_co2_steps(tmp_path: Path, inp: dict, exp: dict) -> None:
    """CO2KostAufG Anlage: classification with inclusive lower bounds."""
    for case, want in zip(inp["cases"], exp["results"], strict=True):
        unit = {"id": "house", "living_area_m2": case["living_area_m2"]}
        co2 = {"kind": "co2_cost", "id": "co2", "co2_kg": case["co2_kg"],
               "co2_cost_cents": 100000}
        d = item(run(tmp_path, de_building([unit], [co2])), "co2")["derivation"]
        assert d["co2_kg_per_m2_a"] == want["co2_kg_per_m2_a"]
        assert d["step"] == want["step"]
        assert exact(d["tenant_pct"]) == exact(want["tenant_pct"])
        assert exact(d["landlord_pct"]) == exact(want["landlord_pct"])


def _cn_building(units, items):
    return {"building": {"id": "WE-CN", "country": "CN", "currency": "CNY", "language": "zh"},
            "period": {"start": "2025-01-01", "end": "2025-12-31"}, "units": units,
            "cost_items": items}


def _snake(component: str) -> str:
    inner = component.split("(", 1)[1].rstrip(")") if "(" in component else component
    return inner.strip().replace(" ", "_")


def check_tiered(tmp_path: Path, inp: dict, exp: dict) -> None:
    """Beijing tiered water / electricity for one household and year."""
    key = next(k for k in inp if k.endswith(("_consumption_m3", "_consumption_kwh")))
    utility = "water" if key.endswith("_m3") else "electricity"
    basis = inp.get("tier_basis", "monthly" if key.startswith("monthly") else "annual")
    qty, supply = inp[key], inp.get("supply")
    unit = {"id": "101", "living_area_m2": "90", "consumption": {utility: qty}}
    if "persons" in inp:
        unit["persons"] = inp["persons"]
    tariff = {"kind": "cn_tiered_tariff", "id": "tariff", "utility": utility, "meter": utility,
              "tier_basis": basis}
    if supply:
        tariff["supply"] = supply
    cn = _cn_building([unit], [tariff])
    if basis == "monthly":
        cn["period"] = {"start": "2025-01-01", "end": "2025-01-31"}
    out = run(tmp_path, cn)
    d = item(out, "tariff")["derivation"]["per_party"]["101"]
    for got, want in zip(d["tiers"], exp["tiers"], strict=True):
        assert got["tier"] == want["tier"]
        assert exact(got["quantity"]) == exact(want.get("m3", want.get("kwh")))
        if "price" in want:
            assert exact(got["price"]) == exact(want["price"])
        if "amount_cny" in want:
            assert exact(got["amount_exact"]) == exact(want["amount_cny"])
        if "amount_cny_exact" in want:
            assert exact(got["amount_exact"]) == exact(want["amount_cny_exact"])
    assert len(d["tiers"]) == len(exp["tiers"])
    assert bill(out, "101")["charges_cents"] == cents(exp["total_cny"])
    if "components_cny" in exp:
        got = {_snake(k): v for k, v in d["components_cents"].items()}
        assert got == {k: cents(v) for k, v in exp["components_cny"].items()}


def check_gongtan(tmp_path: Path, inp: dict, exp: dict) -> None:
    """公摊 by area (Civil Code Art. 283 default) and by household."""
    units = []
    for u in inp["units"]:
        unit = {"id": u["id"], "living_area_m2": u["area_m2"]}
        used = [k for k in u if k.startswith("consumption")]
        if used:
            unit["consumption"] = {"shared": u[used[0]]}
        units.append(unit)
    methods = {"by_area_cny": "area", "by_household_cny": "household",
               "by_consumption_cny": "consumption"}
    for key, method in methods.items():
        if key not in exp:
            continue
        shared = {"kind": "cn_shared", "id": "common", "method": method,
                  "total_cents": cents(inp["common_cost_cny"])}
        if method == "consumption":
            shared["meter"] = "shared"
        out = run(tmp_path, _cn_building(units, [shared]))
        for uid, cny in exp[key].items():
            assert bill(out, uid)["charges_cents"] == cents(cny)


def check_default_interest(tmp_path: Path, inp: dict, exp: dict) -> None:
    """§ 288 Abs. 1 BGB with the § 247 base rate, ACT/365, half-up at the end."""
    unit = {"id": "flat", "living_area_m2": "50"}
    interest = {"kind": "default_interest", "id": "interest", "unit": "flat",
                "principal_cents": cents(inp["principal_eur"]),
                "interest_from": inp["interest_from"],
                "interest_to_inclusive": inp["interest_to_inclusive"],
                "debtor": "consumer" if inp["debtor"] == "consumer" else "business",
                "day_count": inp.get("day_count", "ACT/365")}
    out = run(tmp_path, de_building([unit], [interest]))
    d = item(out, "interest")["derivation"]
    assert d["days"] == exp["days"]
    got = exact(d["interest_exact_cents"]) / 100
    places = len(exp["interest_exact_eur"].split(".")[1])
    assert round(Decimal(got.numerator) / got.denominator, places) == Decimal(
        exp["interest_exact_eur"])
    line = bill(out, "flat")["lines"][0]
    assert line["amount_cents"] == cents(exp["interest_eur"])
    assert exp["base_rate_pct"] in " ".join(line["explanation"])


def check_cn_late_fee(tmp_path: Path, inp: dict, exp: dict) -> None:
    """供电营业规则 Art. 98: 0.1 % per day for residential users."""
    unit = {"id": "101", "living_area_m2": "80"}
    fee = {"kind": "cn_electricity_late_fee", "id": "late", "unit": "101",
           "arrears_cents": cents(inp["arrears_cny"]), "days_overdue": inp["days_overdue"],
           "user": "residential" if inp["user"] == "residential" else "other"}
    if "prior_year_arrears_cny" in inp:
        fee["prior_year_arrears_cents"] = cents(inp["prior_year_arrears_cny"])
    out = run(tmp_path, _cn_building([unit], [fee]))
    assert bill(out, "101")["charges_cents"] == cents(exp["penalty_cny"])


def dispatch(inp: dict):
    """Pick the check by the shape of the published inputs."""
    if "cases" in inp and "q_kwh" in inp["cases"][0]:
        return check_fuel_cases
    if "cases" in inp and "co2_kg" in inp["cases"][0]:
        return check_co2_steps
    if {"hot_water_heat_metered", "hot_water_volume_m3", "area_supplied_with_hot_water_m2",
            "hot_water_heat_kwh"} & set(inp):
        return check_combined
    if "variants" in inp:
        return check_heating_variants
    if "area_with_estimated_consumption_m2" in inp:
        return check_estimation_limit
    if "occupancy" in inp:
        return check_degree_days
    if "billed_by_consumption" in inp:
        return check_cut
    if "gas_consumption_kwh_hs" in inp:
        return check_co2
    if any(k.endswith(("_consumption_m3", "_consumption_kwh")) for k in inp):
        return check_tiered
    if "common_cost_cny" in inp:
        return check_gongtan
    if "principal_eur" in inp:
        return check_default_interest
    if "arrears_cny" in inp:
        return check_cn_late_fee
    raise AssertionError(f"no check for inputs {sorted(inp)}")


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_worked_example_reproduces_through_apportion_cli(row, tmp_path):
    inputs, expected = json.loads(row["inputs"]), json.loads(row["expected"])
    dispatch(inputs)(tmp_path, inputs, expected)


def test_every_reference_row_is_covered():
    assert len(ROWS) >= 15
    for row in ROWS:
        assert dispatch(json.loads(row["inputs"])) is not None
