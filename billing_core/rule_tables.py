"""Rule parameters as data: the legal tables shipped in ``billing_core/rules_data/``.

Why data and not constants: percentages, tariffs and calorific values change by
amendment (HeizkostenV 2021 and 2024, CO2KostAufG 2026, Beijing tariffs 2012 and
2014), and a bill must use the value in force for its period and say where it
comes from.  Every row keeps its ``source`` and validity dates; the CSVs are
byte-identical copies of the project's reviewed reference tables, read with
``Decimal`` / ``Fraction`` (never float).

Lookups take the date the rule is needed for (normally the end of the billing
period) and raise :class:`RuleTableError` naming the table and rule when no
row is in force.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from importlib import resources

from billing_core.errors import BillingError

_PACKAGE = "billing_core.rules_data"


class RuleTableError(BillingError):
    """A rule parameter is missing or not in force on the date asked for."""


@dataclass(frozen=True)
class RuleParameter:
    """One parameter of a law with its validity and source."""

    rule_id: str
    paragraph: str
    parameter: str
    value: str
    unit: str
    valid_from: date | None
    valid_to: date | None
    source: str
    status: str

    @property
    def decimal(self) -> Decimal:
        """The value as an exact Decimal (raises if the row is not numeric)."""
        try:
            return Decimal(self.value)
        except ArithmeticError as exc:  # decimal.InvalidOperation
            raise RuleTableError(f"{self.rule_id}: value {self.value!r} is not a number") from exc

    def in_force(self, on: date) -> bool:
        """True when ``on`` lies inside the inclusive validity dates."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on <= self.valid_to
        )

    def citation(self) -> str:
        """Short citation for explanations on bills."""
        return f"{self.paragraph} ({self.rule_id})"


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text.strip() else None


@functools.cache
def read_table(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one shipped CSV (``name`` without directory), as dicts of strings."""
    text = resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines()))


@functools.cache
def _heizkostenv_rows() -> tuple[RuleParameter, ...]:
    return tuple(
        RuleParameter(
            rule_id=r["rule_id"],
            paragraph=r["paragraph"],
            parameter=r["parameter"],
            value=r["value"],
            unit=r["unit"],
            valid_from=_date(r["valid_from"]),
            valid_to=_date(r["valid_to"]),
            source=r["source"],
            status=r["status"],
        )
        for r in read_table("heizkostenv_rules.csv")
    )


def heizkostenv_parameter(rule_id: str, on: date | None) -> RuleParameter:
    """The HeizkostenV parameter ``rule_id`` in force on ``on`` (None: whatever its dates)."""
    for row in _heizkostenv_rows():
        if row.rule_id == rule_id:
            if on is not None and not row.in_force(on):
                raise RuleTableError(
                    f"heizkostenv_rules.csv: {rule_id} is not in force on {on.isoformat()} "
                    f"(valid {row.valid_from} .. {row.valid_to})"
                )
            return row
    raise RuleTableError(f"heizkostenv_rules.csv: no rule {rule_id}")


def rule_in_force(rule_id: str, on: date) -> bool:
    """True when the HeizkostenV rule ``rule_id`` exists and is in force on ``on``."""
    return any(r.rule_id == rule_id and r.in_force(on) for r in _heizkostenv_rows())


def calorific_values(on: date) -> list[RuleParameter]:
    """The § 9 Abs. 3 fallback table of net calorific values Hi in force on ``on``."""
    return [
        row
        for row in _heizkostenv_rows()
        if row.rule_id.startswith("HKV-9-3-HI-") and row.rule_id != "HKV-9-3-HI-INVOICE"
        and row.in_force(on)
    ]


def calorific_value(fuel: str, on: date) -> RuleParameter:
    """Look a fuel up in the Hi table by its name as printed in § 9 Abs. 3.

    Matches the exact name first, then a unique name prefix ("Leichtes Heizöl"
    for "Leichtes Heizöl extra leichtflüssig"), case-insensitively.
    """
    rows = calorific_values(on)
    wanted = fuel.strip().casefold()
    exact = [r for r in rows if r.parameter.casefold() == wanted]
    if exact:
        return exact[0]
    prefix = [r for r in rows if r.parameter.casefold().startswith(wanted)]
    if len(prefix) == 1:
        return prefix[0]
    names = ", ".join(r.parameter for r in rows)
    raise RuleTableError(
        f"HeizkostenV § 9 Abs. 3: no unique calorific value for fuel {fuel!r} "
        f"on {on.isoformat()} (table: {names})"
    )


@dataclass(frozen=True)
class DegreeDayMonth:
    """One month of the VDI 2067 degree-day table (per mille of the year)."""

    month: int
    permille: Fraction
    source: str


@functools.cache
def degree_day_months() -> tuple[DegreeDayMonth, ...]:
    """The twelve monthly shares (June–August 40/3 ‰ each, as tabulated)."""
    months = [
        DegreeDayMonth(
            month=int(r["period"]),
            permille=Fraction(int(r["permille_numerator"]), int(r["permille_denominator"])),
            source=r["source"],
        )
        for r in read_table("heizkostenv_9b_degree_days.csv")
        if r["kind"] == "month"
    ]
    total = sum((m.permille for m in months), Fraction(0))
    if len(months) != 12 or total != 1000:
        raise RuleTableError(
            f"heizkostenv_9b_degree_days.csv: expected 12 months summing to 1000, "
            f"got {len(months)} summing to {total}"
        )
    return tuple(sorted(months, key=lambda m: m.month))


@dataclass(frozen=True)
class Co2Step:
    """One row of the CO2KostAufG table (or a non-residential / special rule)."""

    step: str
    kind: str
    building_type: str
    co2_min_kg_m2_a: Decimal | None
    co2_max_kg_m2_a_exclusive: Decimal | None
    tenant_pct: Decimal | None
    landlord_pct: Decimal | None
    valid_from: date | None
    valid_to: date | None
    band_as_written: str
    source: str


def _dec(text: str) -> Decimal | None:
    return Decimal(text) if text.strip() else None


@functools.cache
def co2_steps() -> tuple[Co2Step, ...]:
    """All rows of ``co2kostaufg_steps.csv``."""
    return tuple(
        Co2Step(
            step=r["step"],
            kind=r["kind"],
            building_type=r["building_type"],
            co2_min_kg_m2_a=_dec(r["co2_min_kg_m2_a"]),
            co2_max_kg_m2_a_exclusive=_dec(r["co2_max_kg_m2_a_exclusive"]),
            tenant_pct=_dec(r["tenant_pct"]),
            landlord_pct=_dec(r["landlord_pct"]),
            valid_from=_date(r["valid_from"]),
            valid_to=_date(r["valid_to"]),
            band_as_written=r["band_as_written"],
            source=r["source"],
        )
        for r in read_table("co2kostaufg_steps.csv")
    )


@dataclass(frozen=True)
class TariffTier:
    """One tier (and component) of a tiered residential tariff."""

    region: str
    utility: str
    supply: str
    tier_basis: str
    tier: int
    lower_bound_exclusive: Decimal
    upper_bound_inclusive: Decimal | None
    unit: str
    component: str
    price_cny_per_unit: Decimal
    valid_from: date | None
    source: str


@functools.cache
def tariff_rows() -> tuple[TariffTier, ...]:
    """All tiered-tariff rows (``cn_tiered_tariffs.csv``)."""
    rows = []
    for r in read_table("cn_tiered_tariffs.csv"):
        rows.append(
            TariffTier(
                region=r["region"],
                utility=r["utility"],
                supply=r["supply"],
                tier_basis=r["tier_basis"],
                tier=int(r["tier"]) if r["tier"].strip() else 0,
                lower_bound_exclusive=Decimal(r["lower_bound_exclusive"] or "0"),
                upper_bound_inclusive=_dec(r["upper_bound_inclusive"]),
                unit=r["unit"],
                component=r["component"],
                price_cny_per_unit=Decimal(r["price_cny_per_unit"]),
                valid_from=_date(r["valid_from"]),
                source=r["source"],
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class BetrKVCategory:
    """One of the 17 numbers of § 2 BetrKV."""

    number: int
    name_de: str
    short_en: str
    statutory_default_key: str
    heizkostenv: bool
    source: str


@functools.cache
def betrkv_categories() -> dict[int, BetrKVCategory]:
    """The 17 categories of § 2 BetrKV keyed by number."""
    out = {}
    for r in read_table("betrkv_categories.csv"):
        number = int(r["number"])
        out[number] = BetrKVCategory(
            number=number,
            name_de=r["name_de"],
            short_en=r["short_en"],
            statutory_default_key=r["statutory_default_key"],
            heizkostenv=r["statutory_default_key"].startswith("HeizkostenV"),
            source=r["source"],
        )
    if sorted(out) != list(range(1, 18)):
        raise RuleTableError(f"betrkv_categories.csv: expected numbers 1..17, got {sorted(out)}")
    return out


@dataclass(frozen=True)
class LatePaymentRule:
    """One row of ``de_late_payment.csv`` (German default interest, Chinese penalties)."""

    jurisdiction: str
    rule_id: str
    provision: str
    value: Decimal | None
    unit: str
    valid_from: date | None
    valid_to: date | None
    source: str
    status: str


@functools.cache
def late_payment_rules() -> tuple[LatePaymentRule, ...]:
    """All rows of ``de_late_payment.csv``."""
    return tuple(
        LatePaymentRule(
            jurisdiction=r["jurisdiction"],
            rule_id=r["rule_id"],
            provision=r["provision"],
            value=_dec(r["value"]),
            unit=r["unit"],
            valid_from=_date(r["valid_from"]),
            valid_to=_date(r["valid_to"]),
            source=r["source"],
            status=r["status"],
        )
        for r in read_table("de_late_payment.csv")
    )


def late_payment_rule(rule_id: str) -> LatePaymentRule:
    """The late-payment row ``rule_id``."""
    for row in late_payment_rules():
        if row.rule_id == rule_id:
            return row
    raise RuleTableError(f"de_late_payment.csv: no rule {rule_id}")


def base_rate_periods() -> list[LatePaymentRule]:
    """The § 247 BGB Basiszinssatz rows, ordered by start date."""
    rows = [r for r in late_payment_rules() if r.rule_id.startswith("BASISZINS-")]
    return sorted(rows, key=lambda r: r.valid_from or date.min)
