"""Rules and invariants of the per-building apportionment path beyond the worked examples."""

from __future__ import annotations

import json
import os
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from billing_core.apportion_cli import apportion
from billing_core.apportion_input import (
    ApportionInputError,
    input_json_schema,
    parse_apportion_input,
)
from billing_core.building_apportionment import apportion_building
from billing_core.cn_tiered_tariff import tiered_charge
from billing_core.errors import AllocationError
from billing_core.late_payment import default_interest
from billing_core.occupancy_days import degree_day_permille, degree_day_share
from billing_core.rule_tables import (
    RuleTableError,
    betrkv_categories,
    calorific_value,
    heizkostenv_parameter,
)

ROOT = Path(__file__).resolve().parents[3]
FUZZ_EXAMPLES = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "40"))
_app = typer.Typer()
_app.command()(apportion)


def building(units, items, start="2025-01-01", end="2025-12-31", **extra):
    return {"building": {"id": "T"}, "period": {"start": start, "end": end}, "units": units,
            "cost_items": items, **extra}


def run_data(raw):
    return apportion_building(parse_apportion_input(raw))


# --- input validation -------------------------------------------------------------


def test_wrong_file_gets_errors_naming_the_json_path(tmp_path):
    raw = building(
        [{"id": "a", "living_area_m2": "50"}, {"id": "b", "living_area_m2": "40"},
         {"id": "c", "living_area_m2": "30"}, {"id": "d", "living_area_m2": "0"}],
        [{"kind": "allocated", "id": "tax", "total_cents": 100, "betrkv_number": 18},
         {"kind": "heating", "id": "h", "total_cents": 1.5}],
    )
    raw["units"][1]["colour"] = "red"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(raw))
    result = CliRunner().invoke(_app, [str(path)])
    assert result.exit_code == 2
    err = result.stderr
    assert "units[3].living_area_m2: must be > 0" in err
    assert "units[1].colour: unknown field" in err
    assert "cost_items[0].betrkv_number: must be <= 17" in err
    assert "cost_items[1].total_cents:" in err


def test_semantic_errors_name_path_overlaps_and_unknown_units():
    raw = building(
        [{"id": "a", "living_area_m2": "50", "occupancies": [
            {"tenant": "x", "start": "2025-01-01", "end": "2025-06-30"},
            {"tenant": "y", "start": "2025-06-01", "end": "2025-12-31"}]},
         {"id": "a", "living_area_m2": "40"}],
        [{"kind": "allocated", "id": "lift", "total_cents": 100, "excluded_units": ["zz"],
          "components": [{"key": "living_area", "pct": "60"}]}],
    )
    with pytest.raises(ApportionInputError) as info:
        parse_apportion_input(raw)
    text = "\n".join(info.value.errors)
    assert "units[1].id: duplicate unit id 'a'" in text
    assert "units[0].occupancies: 'x' and 'y' overlap on 2025-06-01" in text
    assert "cost_items[0].excluded_units: unknown unit 'zz'" in text
    assert "cost_items[0].components: percentages add up to 60, not 100" in text


def test_floats_are_refused_for_quantities():
    raw = building([{"id": "a", "living_area_m2": 50.5}], [])
    with pytest.raises(ApportionInputError, match=r"units\[0\].living_area_m2: write decimals"):
        parse_apportion_input(raw)
    raw = building([{"id": "a", "living_area_m2": "NaN"}], [])
    with pytest.raises(ApportionInputError, match=r"living_area_m2: 'NaN' is not a plain"):
        parse_apportion_input(raw)


def test_published_schema_matches_the_validator():
    published = json.loads((ROOT / "docs" / "apportion-input.schema.json").read_text("utf-8"))
    assert published == json.loads(json.dumps(input_json_schema()))


@pytest.mark.parametrize("name", ["de-apportion-building.json", "cn-apportion-building.json"])
def test_documented_examples_run_and_every_item_adds_up(name, tmp_path):
    path = ROOT / "docs" / "examples" / name
    result = CliRunner().invoke(_app, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for it in out["items"]:
        if it["shares_cents"]:
            assert sum(it["shares_cents"].values()) == it["total_cents"], it["item_id"]
    for b in out["bills"]:
        assert b["charges_cents"] == sum(x["amount_cents"] for x in b["lines"])
        assert b["balance_cents"] == b["charges_cents"] - b["prepayments_cents"]


# --- exact splitting invariants ---------------------------------------------------

_units = st.lists(
    st.tuples(st.integers(1, 20000), st.integers(0, 6), st.integers(0, 10**6)),
    min_size=1, max_size=8,
)


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(units=_units, total=st.integers(-10**7, 10**8), pct=st.integers(0, 100),
       vat=st.sampled_from([None, "7", "19"]))
def test_every_item_splits_to_its_total_and_lines_to_the_party(units, total, pct, vat):
    raw_units = [
        {"id": f"u{i:02d}", "living_area_m2": f"{a / 100}", "persons": p,
         "consumption": {"water": str(c)}}
        for i, (a, p, c) in enumerate(units)
    ]
    comps = [{"key": "living_area", "pct": str(pct)}, {"key": "person_days", "pct": str(100 - pct)}]
    if all(p == 0 for _, p, _ in units):
        comps = [{"key": "units", "pct": "100"}]
    item = {"kind": "allocated", "id": "mix", "total_cents": total, "components": comps}
    if vat:
        item["vat"] = {"rate_pct": vat}
    result = run_data(building(raw_units, [item]))
    mix = result.item("mix")
    assert sum(mix.shares_cents.values()) == mix.total_cents
    assert sum(line.vat_cents for b in result.bills for line in b.lines) == mix.vat_cents
    for b in result.bills:
        assert sum(line.amount_cents for line in b.lines) == mix.shares_cents[b.party_id]


def test_ties_go_to_the_smaller_unit_id_whatever_the_order():
    units = [{"id": i, "living_area_m2": "1"} for i in ("c", "a", "b")]
    result = run_data(building(units, [{"kind": "allocated", "id": "x", "total_cents": 100}]))
    assert result.item("x").shares_cents == {"a": 34, "b": 33, "c": 33}


# --- HeizkostenV --------------------------------------------------------------------

def _heat_units():
    return [{"id": "a", "living_area_m2": "50", "consumption": {"heat": "100"}},
            {"id": "b", "living_area_m2": "50", "consumption": {"heat": "300"}}]


def test_mandatory_70_rejects_a_lower_share_and_is_the_default():
    cond = {"below_waermeschutzv_1994": True, "oil_or_gas_heating": True,
            "exposed_pipes_mostly_insulated": True}
    item = {"kind": "heating", "id": "h", "total_cents": 100000, "conditions": cond,
            "split": {"consumption_share_pct": "50"}}
    with pytest.raises(AllocationError, match=r"§ 7 Abs\. 1 Satz 2 requires 70"):
        run_data(building(_heat_units(), [item]))
    item["split"] = {}
    result = run_data(building(_heat_units(), [item]))
    assert result.item("h").derivation["consumption_share_pct_applied"] == "70"
    # heat supply (Wärmelieferung) is exempt since 2021-12-01 (§ 7 Abs. 3)
    item.update(heat_supply=True, split={"consumption_share_pct": "50"})
    assert run_data(building(_heat_units(), [item])).item("h").shares_cents == {
        "a": 37500, "b": 62500}


def test_share_above_70_needs_a_contract_under_section_10():
    item = {"kind": "heating", "id": "h", "total_cents": 100000,
            "split": {"consumption_share_pct": "80"}}
    with pytest.raises(AllocationError, match="exceeds 70"):
        run_data(building(_heat_units(), [item]))
    item["split"]["contract_above_70"] = True
    assert run_data(building(_heat_units(), [item])).item("h").shares_cents == {
        "a": 30000, "b": 70000}


def test_estimation_over_25_percent_switches_to_the_fixed_key():
    units = _heat_units()
    units[1]["estimated"] = ["heat"]
    item = {"kind": "heating", "id": "h", "total_cents": 100000,
            "split": {"consumption_share_pct": "70"}}
    result = run_data(building(units, [item]))
    assert result.item("h").derivation["exceeds_limit"] is True
    assert result.item("h").shares_cents == {"a": 50000, "b": 50000}


def test_degree_days_follow_the_table_and_leap_february():
    assert degree_day_permille(date(2025, 1, 1), date(2025, 12, 31)) == 1000
    assert degree_day_permille(date(2024, 2, 1), date(2024, 2, 29)) == 150
    assert degree_day_permille(date(2024, 2, 1), date(2024, 2, 1)) == Fraction(150, 29)
    june_day = degree_day_permille(date(2025, 6, 1), date(2025, 6, 1))
    assert june_day == Fraction(40, 3) / 30
    assert degree_day_permille(date(2025, 6, 1), date(2025, 6, 1), "per_summer_day") == Fraction(
        40, 92)
    assert degree_day_share(date(2025, 1, 1), date(2025, 1, 31), date(2025, 1, 1),
                            date(2025, 12, 31)) == Fraction(17, 100)


def test_hot_water_fixed_part_of_a_mover_goes_by_days_not_degree_days():
    units = [{"id": "a", "living_area_m2": "100", "consumption": {"hot_water": "0"},
              "occupancies": [{"tenant": "t", "start": "2025-01-01", "end": "2025-01-31",
                               "consumption": {"hot_water": "5"}}]}]
    item = {"kind": "hot_water", "id": "w", "total_cents": 36500,
            "split": {"consumption_share_pct": "50"}}
    line = next(x for x in run_data(building(units, [item])).bill("a/t").lines
                if x.component.startswith("fixed"))
    assert Fraction(line.unit_key_value) == Fraction(100 * 31, 365)


def test_remote_reading_cut_applies_to_each_tenant_but_not_in_an_owners_association():
    item = {"kind": "heating", "id": "h", "total_cents": 100000,
            "split": {"consumption_share_pct": "50"}}
    raw = building(_heat_units(), [item], heizkostenv={"remote_reading_missing": True})
    result = run_data(raw)
    assert result.bill("a").charges_cents == 37500 - 1125
    raw["heizkostenv"]["owners_association"] = True
    assert run_data(raw).bill("a").charges_cents == 37500


def test_heat_pump_factor_is_not_in_force_before_october_2024():
    with pytest.raises(RuleTableError, match="HKV-9-2-S6-HEATPUMP is not in force"):
        heizkostenv_parameter("HKV-9-2-S6-HEATPUMP", date(2024, 1, 1))
    assert heizkostenv_parameter("HKV-9-2-S6-HEATPUMP", date(2024, 10, 1)).value == "0.30"


def test_wood_chips_calorific_value_changed_in_2021():
    assert calorific_value("Holzhackschnitzel", date(2022, 1, 1)).value == "4"
    assert calorific_value("Holzhackschnitzel", date(2021, 1, 1)).unit == "kWh/SRm"


# --- CO2KostAufG ----------------------------------------------------------------------

def test_co2_nonresidential_and_constraints():
    unit = [{"id": "shop", "living_area_m2": "100"}]
    item = {"kind": "co2_cost", "id": "c", "co2_kg": "6000", "co2_cost_cents": 10001,
            "building_type": "nonresidential"}
    result = run_data(building(unit, [item]))
    assert result.bill("shop").charges_cents == 5000  # landlord 50 % of 100.01 → 50.01
    item.update(building_type="residential", constraint_building=True)
    d = run_data(building(unit, [item])).item("c").derivation
    assert (d["step"], d["landlord_pct"], d["tenant_pct"]) == (10, "47.5", "52.5")


def test_co2_band_limits_shrink_for_a_short_period():
    unit = [{"id": "h", "living_area_m2": "1000"}]
    item = {"kind": "co2_cost", "id": "c", "co2_kg": "6000", "co2_cost_cents": 1000}
    full = run_data(building(unit, [item])).item("c").derivation
    half = run_data(building(unit, [item], end="2025-06-30")).item("c").derivation
    assert full["step"] == 1  # 6.0 kg/m²/a < 12
    assert half["step"] == 2  # limit 12 × 181/365 ≈ 5.95 ≤ 6.0


# --- BetrKV -----------------------------------------------------------------------------

def test_betrkv_has_17_categories_and_heating_goes_to_the_heizkostenv():
    cats = betrkv_categories()
    assert sorted(cats) == list(range(1, 18))
    assert [n for n, c in cats.items() if c.heizkostenv] == [4, 5, 6]
    with pytest.raises(AllocationError, match="HeizkostenV"):
        run_data(building(_heat_units(), [
            {"kind": "allocated", "id": "x", "betrkv_number": 4, "total_cents": 100}]))


def test_lift_excluded_for_ground_floor_by_contract():
    units = [{"id": "eg", "living_area_m2": "50", "floor": 0},
             {"id": "og", "living_area_m2": "70", "floor": 1}]
    item = {"kind": "allocated", "id": "lift", "betrkv_number": 7, "total_cents": 12345,
            "excluded_units": ["eg"]}
    assert run_data(building(units, [item])).item("lift").shares_cents == {"eg": 0, "og": 12345}
    item.pop("excluded_units")
    item["excluded_floors"] = [0]
    assert run_data(building(units, [item])).item("lift").shares_cents == {"eg": 0, "og": 12345}


def test_prepayments_above_charges_give_a_credit():
    units = [{"id": "a", "living_area_m2": "50", "prepayments_cents": 20000}]
    b = run_data(building(units, [{"kind": "allocated", "id": "x", "total_cents": 15000}])).bill(
        "a")
    assert (b.balance_cents, b.balance_kind) == (-5000, "credit")


# --- China and late payment --------------------------------------------------------------

def test_tiered_bounds_are_prorated_for_part_of_a_year():
    charge = tiered_charge(Fraction(100), region="Beijing", utility="water", supply="自来水",
                           basis="annual", start=date(2025, 1, 1), end=date(2025, 7, 2))
    # 183 days of 365: tier-1 bound 180 × 183/365 = 90.2… m³
    assert charge.tiers[0].quantity == Fraction(180 * 183, 365)
    assert charge.tiers[1].quantity == 100 - Fraction(180 * 183, 365)


def test_default_interest_follows_the_base_rate_change():
    cents, exact, why = default_interest(100000, date(2025, 6, 21), date(2025, 7, 10),
                                         "consumer", "ACT/365")
    assert exact == Fraction(100000 * (Fraction("7.27") * 10 + Fraction("6.27") * 10), 36500)
    assert cents == 371 and len(why) == 2  # 3.7096 EUR


def test_without_interim_reading_users_share_the_units_consumption_by_degree_days():
    units = [
        {"id": "a", "living_area_m2": "100", "no_interim_reading": True,
         "consumption": {"heat": "1000"},
         "occupancies": [{"tenant": "old", "start": "2025-01-01", "end": "2025-01-31"},
                         {"tenant": "new", "start": "2025-02-01", "end": "2025-12-31"}]},
        {"id": "b", "living_area_m2": "100", "consumption": {"heat": "1000"}},
    ]
    item = {"kind": "heating", "id": "h", "total_cents": 200000,
            "split": {"consumption_share_pct": "50"}}
    result = run_data(building(units, [item]))
    old = next(x for x in result.bill("a/old").lines if x.key == "consumption")
    assert Fraction(old.unit_key_value) == 170  # 1000 × 170 ‰ (§ 9b Abs. 3 with Abs. 2)
    assert result.bill("a/old").charges_cents == 17000  # 17 % of the unit's 100000
    assert result.bill("a/new").charges_cents == 83000


def test_heat_supply_divides_q_by_1_15():
    units = [{"id": "a", "living_area_m2": "100", "consumption": {"heat": "1", "hot_water": "1"}}]
    item = {"kind": "heating_hot_water_combined", "id": "j", "total_cents": 100000,
            "system": "heat_supply", "hot_water_volume_m3": "46", "hot_water_mean_temp_c": "60",
            "total_energy_kwh": "50000", "heating": {"consumption_share_pct": "50"},
            "hot_water": {"consumption_share_pct": "50"}}
    d = run_data(building(units, [item])).item("j").derivation
    assert Fraction(d["q_after_heat_supply_factor_kwh"]) == 5000  # 2.5 × 46 × 50 / 1.15
    assert (d["hot_water_cost_cents"], d["heating_cost_cents"]) == (10000, 90000)


def test_vat_added_on_a_net_total_is_spread_over_the_lines():
    units = [{"id": "a", "living_area_m2": "1"}, {"id": "b", "living_area_m2": "2"}]
    item = {"kind": "allocated", "id": "x", "total_cents": 10000,
            "vat": {"rate_pct": "19", "mode": "added"}}
    result = run_data(building(units, [item]))
    assert result.item("x").total_cents == 11900 and result.item("x").vat_cents == 1900
    assert [b.vat_cents for b in result.bills] == [633, 1267]


def test_cn_property_and_parking_fees_count_months_and_days():
    units = [{"id": "101", "living_area_m2": "80", "parking_spaces": 1,
              "occupancies": [{"tenant": "t", "start": "2025-03-16", "end": "2025-12-31"}]}]
    items = [{"kind": "cn_property_fee", "id": "fee", "price_per_month": "2.8"},
             {"kind": "cn_parking_fee", "id": "park", "price_per_month": "150"}]
    result = run_data(building(units, items))
    # 9 months + 16/31 of March
    months = 9 + Fraction(16, 31)
    assert result.item("fee").shares_cents["101/t"] == round(80 * Fraction("2.8") * months * 100)
    assert result.item("park").shares_cents["101/t"] == round(150 * months * 100)
    assert result.item("fee").shares_cents["101/vacant-2025-01-01"] == round(
        80 * Fraction("2.8") * (2 + Fraction(15, 31)) * 100)


def test_cn_shared_loss_between_master_and_household_meters_by_consumption():
    units = [{"id": "1", "living_area_m2": "50", "consumption": {"water": "100"}},
             {"id": "2", "living_area_m2": "50", "consumption": {"water": "300"}}]
    item = {"kind": "cn_shared", "id": "loss", "method": "consumption", "meter": "water",
            "master_meter": "440", "price_per_unit": "5"}
    result = run_data(building(units, [item]))
    assert result.item("loss").shares_cents == {"1": 5000, "2": 15000}
    item["master_meter"] = "390"
    with pytest.raises(AllocationError, match="negative common use"):
        run_data(building(units, [item]))


def test_section_12_cut_is_taken_once_on_the_summed_heating_and_hot_water_share():
    units = [{"id": "a", "living_area_m2": "50"}]
    items = [{"kind": "heating", "id": "h", "total_cents": 100001,
              "split": {"billed_by_consumption": False}},
             {"kind": "hot_water", "id": "w", "total_cents": 23455,
              "split": {"billed_by_consumption": False}}]
    result = run_data(building(units, items))
    cuts = [x for x in result.bill("a").lines if x.item == "tenant's cut"]
    assert [c.amount_cents for c in cuts] == [-18518]  # 15 % of 1234.56, not 150.00 + 35.18
    assert result.bill("a").charges_cents == 123456 - 18518


def test_co2_included_in_heating_costs_credits_the_landlords_share_like_heating():
    units = [{"id": "a", "living_area_m2": "50", "consumption": {"heat": "100"}},
             {"id": "b", "living_area_m2": "50", "consumption": {"heat": "300"}}]
    items = [{"kind": "heating", "id": "h", "total_cents": 100000,
              "split": {"consumption_share_pct": "50"}},
             {"kind": "co2_cost", "id": "c", "co2_kg": "2000", "co2_cost_cents": 10000,
              "included_in": "h"}]
    result = run_data(building(units, items))
    # 2000 kg / 100 m² = 20.0 kg/m²/a → step 3, landlord 20 % = 20.00 EUR credited 3:5
    assert result.item("c").shares_cents == {"a": -750, "b": -1250}
    assert result.landlord[0].amount_cents == 2000


def test_co2_price_with_vat_on_the_price_component():
    units = [{"id": "a", "living_area_m2": "380"}]
    item = {"kind": "co2_cost", "id": "c", "co2_kg": "7074.39096", "co2_price_eur_per_t": "30",
            "co2_vat_rate_pct": "19"}
    d = run_data(building(units, [item])).item("c").derivation
    assert d["co2_cost_cents"] == 25256  # 212.2317288 EUR × 1.19 = 252.555757… → 252.56


def test_readings_give_consumption_and_explain_the_line_with_their_flags():
    units = [
        {"id": "a", "living_area_m2": "50", "readings": {"heat": [
            {"read_on": "2025-01-01", "value": "1000", "kind": "interpolated"},
            {"read_on": "2025-12-31", "value": "1400"}]}},
        {"id": "b", "living_area_m2": "50", "readings": {"heat": [
            {"read_on": "2025-01-01", "value": "500"},
            {"read_on": "2025-12-31", "value": "1100", "kind": "estimated"}]}},
        {"id": "c", "living_area_m2": "200", "consumption": {"heat": "1000"}},
    ]
    item = {"kind": "heating", "id": "h", "total_cents": 100000,
            "split": {"consumption_share_pct": "50"}}
    result = run_data(building(units, [item]))
    line_a = next(x for x in result.bill("a").lines if x.key == "consumption")
    line_b = next(x for x in result.bill("b").lines if x.key == "consumption")
    assert (line_a.unit_key_value, line_b.unit_key_value) == ("400", "600")
    assert line_a.flags == ("interpolated",) and line_b.flags == ("estimated",)
    assert "heat readings 2025-01-01: 1000 (interpolated), 2025-12-31: 1400" in line_a.explanation
    # b's estimated reading counts for § 9a: 50 of 300 m² are affected, within 25 %
    assert Fraction(result.item("h").derivation["affected_share_pct"]) == Fraction(50, 3)
    assert result.item("h").derivation["exceeds_limit"] is False


def test_a_meter_that_went_back_is_a_consumption_error():
    from billing_core.errors import ConsumptionError

    units = [{"id": "a", "living_area_m2": "50", "readings": {"heat": [
        {"read_on": "2025-01-01", "value": "1000"}, {"read_on": "2025-12-31", "value": "900"}]}}]
    with pytest.raises(ConsumptionError, match="unit a: meter 'heat' went back"):
        run_data(building(units, []))


def test_section_9a_estimate_from_the_building_average_per_m2():
    units = [
        {"id": "a", "living_area_m2": "100", "consumption": {"heat": "1000"}},
        {"id": "b", "living_area_m2": "50", "consumption": {"heat": "800"}},
        {"id": "c", "living_area_m2": "30", "estimate": {"heat": {"basis": "building_average"}}},
        {"id": "d", "living_area_m2": "20", "estimate": {"heat": {
            "basis": "comparable_units", "units": ["b"]}}},
    ]
    item = {"kind": "heating", "id": "h", "total_cents": 100000,
            "split": {"consumption_share_pct": "70"}}
    result = run_data(building(units, [item]))
    line_c = next(x for x in result.bill("c").lines if x.key == "consumption")
    line_d = next(x for x in result.bill("d").lines if x.key == "consumption")
    assert Fraction(line_c.unit_key_value) == 30 * Fraction(1800, 150)  # 12 per m²
    assert Fraction(line_d.unit_key_value) == 20 * Fraction(800, 50)  # b's 16 per m²
    assert "estimated" in line_c.flags
    # 50 of 200 m² estimated: exactly 25 % does not exceed the § 9a Abs. 2 limit
    assert result.item("h").derivation["exceeds_limit"] is False


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(cuts=st.lists(st.integers(1, 364), min_size=0, max_size=4, unique=True),
       leap=st.booleans())
def test_users_of_a_unit_share_exactly_its_whole_year(cuts, leap):
    from datetime import timedelta

    year = 2024 if leap else 2025
    start, end = date(year, 1, 1), date(year, 12, 31)
    bounds = [start + timedelta(days=c) for c in sorted(cuts) if start + timedelta(days=c) <= end]
    spans, lo = [], start
    for b in bounds:
        spans.append((lo, b - timedelta(days=1)))
        lo = b
    spans.append((lo, end))
    occupancies = [{"tenant": f"t{i}", "start": a.isoformat(), "end": b.isoformat(),
                    "consumption": {"heat": "1"}} for i, (a, b) in enumerate(spans) if a <= b]
    units = [{"id": "u", "living_area_m2": "73.5", "occupancies": occupancies}]
    item = {"kind": "heating", "id": "h", "total_cents": 99999,
            "split": {"consumption_share_pct": "50"}}
    result = run_data(building(units, [item], start=start.isoformat(), end=end.isoformat()))
    fixed = [Fraction(x.unit_key_value) for b in result.bills for x in b.lines
             if x.component.startswith("fixed")]
    assert sum(fixed) == Fraction("73.5")  # degree-day shares of the users add up to 1
    assert sum(result.item("h").shares_cents.values()) == 99999


def test_hot_water_fixed_costs_go_by_area_only():
    units = [{"id": "a", "living_area_m2": "50", "enclosed_volume_m3": "150",
              "consumption": {"hot_water": "3"}}]
    item = {"kind": "hot_water", "id": "w", "total_cents": 1000,
            "split": {"consumption_share_pct": "50", "fixed_key": "enclosed_volume"}}
    with pytest.raises(AllocationError, match=r"§ 8 Abs\. 1 .* not by enclosed_volume"):
        run_data(building(units, [item]))
    item["kind"] = "heating"
    item["split"]["meter"] = "hot_water"
    assert run_data(building(units, [item])).item("w").shares_cents == {"a": 1000}


def test_fixed_amounts_are_charged_as_given_and_the_rest_by_key():
    units = [{"id": "a", "living_area_m2": "50"},
             {"id": "b", "living_area_m2": "50", "occupancies": [
                 {"tenant": "t", "start": "2025-01-01", "end": "2025-06-30"}]}]
    item = {"kind": "allocated", "id": "tv", "total_cents": 30001,
            "fixed_amounts_cents": {"a": 12000}, "vat": {"rate_pct": "19"}}
    result = run_data(building(units, [item]))
    tv = result.item("tv")
    assert sum(tv.shares_cents.values()) == 30001
    fixed_a = next(x for x in result.bill("a").lines if x.key == "fixed")
    assert fixed_a.amount_cents == 12000
    assert tv.shares_cents["a"] == 12000 + 9001  # the rest 180.01 by area, tie to 'a'
    assert sum(x.vat_cents for b in result.bills for x in b.lines) == tv.vat_cents == 4790


def test_property_key_for_a_betrkv_number_overrides_the_statutory_default():
    units = [{"id": "a", "living_area_m2": "90", "persons": 1},
             {"id": "b", "living_area_m2": "30", "persons": 3}]
    items = [{"kind": "allocated", "id": "waste", "betrkv_number": 8, "total_cents": 40000},
             {"kind": "allocated", "id": "tax", "betrkv_number": 1, "total_cents": 40000}]
    raw = building(units, items, betrkv_keys={"8": [{"key": "person_days", "pct": "100"}]})
    result = run_data(raw)
    assert result.item("waste").shares_cents == {"a": 10000, "b": 30000}  # by persons
    assert result.item("tax").shares_cents == {"a": 30000, "b": 10000}  # default: area
    assert "key of the property" in result.item("waste").legal_basis


def test_shipped_rule_tables_are_byte_identical_to_the_reference():
    reference = ROOT.parent / "shared" / "reference"
    if not reference.is_dir():
        reference = Path("/work/shared/reference")
    shipped = ROOT / "billing_core" / "rules_data"
    names = sorted(p.name for p in reference.glob("*.csv"))
    assert names == sorted(p.name for p in shipped.glob("*.csv"))
    for name in names:
        assert (shipped / name).read_bytes() == (reference / name).read_bytes(), name
