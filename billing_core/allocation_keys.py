"""Allocation keys: who bears how much of a cost, as exact key values per billing party.

A *party* is one user of one unit for part of the period (an occupancy), or
the owner for the days no one used the unit (vacancy: the landlord bears the
vacancy's share, § 556a BGB practice).  A unit without occupancies is a single
party for the whole period.

Keys (§ 556a Abs. 1 BGB, HeizkostenV §§ 7-9b, 民法典 Art. 283):

- ``living_area``, ``heated_area``, ``enclosed_volume``: the unit's measure ×
  the party's share of the period — by days, or for the fixed heating costs by
  degree-day shares (HeizkostenV § 9b Abs. 2, see ``occupancy_days``);
- ``person_days``: persons × days;
- ``units``: one household × share of days;
- ``ownership_shares``: the unit's co-ownership share (MEA) × share of days;
- ``consumption``: the party's metered (or § 9a estimated) consumption of a meter.

Key values are ``Fraction`` so a key never loses precision before the final
rounding of the amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from billing_core.apportion_input import ApportionInput, EstimateSpec, Reading, Unit
from billing_core.cent_rounding import exact_str
from billing_core.errors import AllocationError, ConsumptionError
from billing_core.occupancy_days import (
    SummerSplit,
    days_inclusive,
    degree_day_share,
    time_share,
)

TimeBasis = Literal["days", "degree_days"]

KEY_UNITS = {
    "living_area": "m²",
    "heated_area": "m²",
    "enclosed_volume": "m³",
    "person_days": "person-days",
    "units": "households",
    "ownership_shares": "MEA",
    "consumption": "",
}


@dataclass(frozen=True)
class Party:
    """One billing party: a unit's user (or vacancy) for ``start..end``."""

    party_id: str
    unit_id: str
    tenant: str | None
    start: date
    end: date
    persons: Decimal
    language: str
    prepayments_cents: int
    consumption: dict[str, Decimal] = field(default_factory=dict)
    estimated: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)
    readings: dict[str, tuple[Reading, ...]] = field(default_factory=dict)
    estimates: dict[str, EstimateSpec] = field(default_factory=dict)

    @property
    def vacancy(self) -> bool:
        """True for the days no user occupied the unit (borne by the owner)."""
        return self.tenant is None

    @property
    def sort_id(self) -> str:
        """Tie-break id: unit id first, then start date (largest-remainder ties)."""
        return f"{self.unit_id}\x00{self.start.isoformat()}"


def _vacancy_spans(unit: Unit, start: date, end: date) -> list[tuple[date, date]]:
    spans = []
    cursor = start
    for occ in sorted(unit.occupancies, key=lambda o: o.start):
        if occ.start > cursor:
            spans.append((cursor, min(occ.start - timedelta(days=1), end)))
        cursor = max(cursor, occ.end + timedelta(days=1))
    if cursor <= end:
        spans.append((cursor, end))
    return [s for s in spans if s[0] <= s[1]]


def _with_readings(where: str, consumption: dict[str, Decimal],
                   readings: dict[str, list[Reading]]) -> dict[str, Decimal]:
    """Consumption per meter, taking last − first reading where none is given."""
    out = dict(consumption)
    for meter, rows in readings.items():
        if meter in out or not rows:
            continue
        ordered = sorted(rows, key=lambda r: r.read_on)
        used = ordered[-1].value - ordered[0].value
        if used < 0:
            raise ConsumptionError(
                f"{where}: meter {meter!r} went back from {ordered[0].value} "
                f"({ordered[0].read_on}) to {ordered[-1].value} ({ordered[-1].read_on})"
            )
        out[meter] = used
    return out


def _estimated(given: list[str], readings: dict[str, list[Reading]]) -> tuple[str, ...]:
    """Meters flagged estimated, or with an estimated reading (HeizkostenV § 9a)."""
    flagged = set(given) | {m for m, rows in readings.items() if any(
        r.kind == "estimated" for r in rows)}
    return tuple(sorted(flagged))


def reading_notes(party: Party, meter: str) -> tuple[list[str], list[str]]:
    """(explanations, flags) for a party's meter: its readings and how they were obtained."""
    notes, flags = [], []
    rows = sorted(party.readings.get(meter, ()), key=lambda r: r.read_on)
    if rows:
        shown = ", ".join(
            f"{r.read_on.isoformat()}: {exact_str(r.value)}"
            + ("" if r.kind == "read" else f" ({r.kind})")
            for r in rows
        )
        notes.append(f"{meter} readings {shown}")
        flags.extend(sorted({r.kind for r in rows} - {"read"}))
    return notes, flags


def parties_of(data: ApportionInput) -> list[Party]:
    """Every billing party of the building, ordered by unit then start date."""
    p = data.period
    out: list[Party] = []
    default_lang = data.building.language
    for unit in data.units:
        lang = unit.language or default_lang
        if not unit.occupancies:
            out.append(
                Party(
                    party_id=unit.id,
                    unit_id=unit.id,
                    tenant=unit.tenant or "",
                    start=p.start,
                    end=p.end,
                    persons=unit.persons,
                    language=lang,
                    prepayments_cents=unit.prepayments_cents,
                    consumption=_with_readings(f"unit {unit.id}", unit.consumption,
                                               unit.readings),
                    estimated=_estimated(unit.estimated, unit.readings),
                    notes=dict(unit.notes),
                    readings={m: tuple(r) for m, r in unit.readings.items()},
                    estimates=dict(unit.estimate),
                )
            )
            continue
        for occ in unit.occupancies:
            out.append(
                Party(
                    party_id=f"{unit.id}/{occ.tenant}",
                    unit_id=unit.id,
                    tenant=occ.tenant,
                    start=max(occ.start, p.start),
                    end=min(occ.end, p.end),
                    persons=occ.persons,
                    language=occ.language or lang,
                    prepayments_cents=occ.prepayments_cents,
                    consumption=_with_readings(f"unit {unit.id} ({occ.tenant})",
                                               occ.consumption, occ.readings),
                    estimated=_estimated(occ.estimated, occ.readings),
                    notes=dict(occ.notes),
                    readings={m: tuple(r) for m, r in occ.readings.items()},
                    estimates=dict(occ.estimate),
                )
            )
        for lo, hi in _vacancy_spans(unit, p.start, p.end):
            out.append(
                Party(
                    party_id=f"{unit.id}/vacant-{lo.isoformat()}",
                    unit_id=unit.id,
                    tenant=None,
                    start=lo,
                    end=hi,
                    persons=Decimal(0),
                    language=lang,
                    prepayments_cents=0,
                    consumption=_with_readings(f"unit {unit.id} (vacancy)",
                                               unit.consumption, unit.readings),
                    estimated=_estimated(unit.estimated, unit.readings),
                    notes=dict(unit.notes),
                    readings={m: tuple(r) for m, r in unit.readings.items()},
                )
            )
    out.sort(key=lambda party: party.sort_id)
    return _apply_estimates(out, data)


def _area_equivalent(party: Party, unit: Unit, data: ApportionInput, basis: str) -> Fraction:
    p = data.period
    if basis == "degree_days":
        share = degree_day_share(party.start, party.end, p.start, p.end)
    else:
        share = time_share(party.start, party.end, p.start, p.end)
    return Fraction(unit.living_area_m2) * share


def _apply_estimates(parties: list[Party], data: ApportionInput) -> list[Party]:
    """Fill estimated consumptions (HeizkostenV § 9a Abs. 1) from measured users."""
    units = {u.id: u for u in data.units}
    out = []
    for party in parties:
        if not party.estimates:
            out.append(party)
            continue
        consumption = dict(party.consumption)
        notes = dict(party.notes)
        for meter, spec in party.estimates.items():
            where = f"unit {party.unit_id} ({party.tenant or 'vacancy'}), meter {meter!r}"
            if spec.basis == "earlier_period":
                if spec.earlier_consumption is None:
                    raise ConsumptionError(f"{where}: earlier_period needs earlier_consumption")
                value = Fraction(spec.earlier_consumption)
                why = "from a comparable earlier period"
            else:
                refs = [
                    q for q in parties
                    if meter in q.consumption and meter not in q.estimated and not q.estimates.get(
                        meter) and (spec.basis == "building_average" or q.unit_id in spec.units)
                ]
                area = sum((_area_equivalent(q, units[q.unit_id], data, spec.time_basis)
                            for q in refs), Fraction(0))
                if area == 0:
                    raise ConsumptionError(f"{where}: no measured users to estimate from")
                rate = sum((Fraction(q.consumption[meter]) for q in refs), Fraction(0)) / area
                value = rate * _area_equivalent(party, units[party.unit_id], data, spec.time_basis)
                why = (f"{exact_str(rate)} per m² of "
                       + ("the building's measured users" if spec.basis == "building_average"
                          else "units " + ", ".join(spec.units)))
            consumption[meter] = value
            notes[meter] = (notes.get(meter, "") + "; " if meter in notes else "") + (
                f"estimated {exact_str(value)} {why} (HeizkostenV § 9a Abs. 1)")
        estimated = tuple(sorted(set(party.estimated) | set(party.estimates)))
        out.append(replace(party, consumption=consumption, notes=notes, estimated=estimated))
    return out


def _measure(unit: Unit, key: str) -> Decimal:
    if key == "living_area":
        return unit.living_area_m2
    if key == "heated_area":
        return unit.heated_area_m2 if unit.heated_area_m2 is not None else unit.living_area_m2
    if key == "enclosed_volume":
        if unit.enclosed_volume_m3 is None:
            raise AllocationError(f"unit {unit.id}: key enclosed_volume needs enclosed_volume_m3")
        return unit.enclosed_volume_m3
    if key == "ownership_shares":
        if unit.ownership_share is None:
            raise AllocationError(f"unit {unit.id}: key ownership_shares needs ownership_share")
        return unit.ownership_share
    raise AllocationError(f"unit {unit.id}: {key} is not a measure")


def key_value(
    key: str,
    party: Party,
    unit: Unit,
    data: ApportionInput,
    *,
    meter: str | None = None,
    time_basis: TimeBasis = "days",
    summer: SummerSplit = "per_month",
    item: str = "cost",
) -> Fraction:
    """The party's value of ``key`` (see the module docstring for each key)."""
    p = data.period
    if key == "consumption" and unit.no_interim_reading and unit.occupancies:
        # HeizkostenV § 9b Abs. 3: without a usable interim reading the unit's
        # consumption is shared by the keys of the fixed costs (Abs. 2).
        if meter is None or meter not in unit.consumption:
            raise AllocationError(
                f"{item}: unit {unit.id} has no interim reading and no {meter!r} consumption")
        if time_basis == "degree_days":
            share = degree_day_share(party.start, party.end, p.start, p.end, summer)
        else:
            share = time_share(party.start, party.end, p.start, p.end)
        return Fraction(unit.consumption[meter]) * share
    if key == "consumption":
        if meter is None:
            raise AllocationError(f"{item}: key consumption needs a meter name")
        if meter not in party.consumption:
            if party.vacancy:
                return Fraction(0)
            raise AllocationError(
                f"{item}: unit {party.unit_id} ({party.tenant or 'no tenant named'}) has no "
                f"consumption for meter {meter!r}"
            )
        return Fraction(party.consumption[meter])
    if time_basis == "degree_days":
        share = degree_day_share(party.start, party.end, p.start, p.end, summer)
    else:
        share = time_share(party.start, party.end, p.start, p.end)
    if key == "person_days":
        return Fraction(party.persons) * days_inclusive(party.start, party.end)
    if key == "units":
        return share
    return Fraction(_measure(unit, key)) * share


def key_unit(key: str, meter: str | None = None) -> str:
    """The unit a key value is measured in, for the bill."""
    if key == "consumption":
        return meter or ""
    return KEY_UNITS[key]
