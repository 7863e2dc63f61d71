"""Estimated consumption as HeizkostenV §9a allows, and the figures for its 25 % rule.

§9a (1): when a unit's consumption cannot be recorded for a billing period
(device failure, no access, other compelling reasons), the landlord may
determine it from the unit's consumption in a *comparable earlier period*
or from the consumption of *comparable rooms* in the same period.  Both are
here; the result is flagged ``estimated`` and says what it was based on.

* comparable period: the earlier consumption scaled by the ratio of the
  period lengths (and an optional ``adjustment``, e.g. a degree-day ratio,
  with its reason stated);
* comparable rooms: the average consumption per m² of comparable units
  measured in the same period, times the unit's area.

§9a (2): when the area (or enclosed volume) whose consumption was estimated
exceeds 25 % of the area on which costs are split, the costs are split only
by the fixed key (area), not by consumption.  The law's test is on *area*;
``estimation_share`` gives that share and also the share of estimated
*consumption* (which the issue asks for), and decides by the law's test.
Exactly 25 % does not exceed 25 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from billing_core.consumption.provenance import Flag, FlagKind, Provenance
from billing_core.errors import ConsumptionError

ESTIMATE_PLACES = Decimal("0.000001")
ESTIMATION_AREA_LIMIT = Decimal("0.25")
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class EstimatedConsumption:
    unit_ref: str
    start: datetime
    end: datetime
    quantity: Decimal
    method: str
    basis: dict[str, str]

    @property
    def flag(self) -> Flag:
        return Flag(FlagKind.ESTIMATED, self.start, self.end,
                    f"estimated by {self.method} (HeizkostenV §9a): {self.quantity}",
                    details=dict(self.basis))

    @property
    def provenance(self) -> Provenance:
        return Provenance(method=f"estimated_{self.method}",
                          estimation={"method": self.method, **self.basis},
                          flags=(self.flag,))


@dataclass(frozen=True, slots=True)
class ComparablePeriod:
    start: datetime
    end: datetime
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class ComparableRoom:
    unit_ref: str
    area_m2: Decimal
    quantity: Decimal


def _length(start: datetime, end: datetime, what: str) -> int:
    if end <= start:
        raise ConsumptionError(f"{what} {start.isoformat()} .. {end.isoformat()} is empty")
    return (end - start) // _MICRO


def estimate_from_comparable_period(unit_ref: str, start: datetime, end: datetime,
                                    earlier: ComparablePeriod,
                                    adjustment: Decimal = Decimal(1),
                                    adjustment_reason: str = "") -> EstimatedConsumption:
    """Earlier consumption × (this period's length / earlier period's length) × adjustment."""
    this_len = _length(start, end, f"unit {unit_ref}: period")
    earlier_len = _length(earlier.start, earlier.end, f"unit {unit_ref}: comparable period")
    if adjustment <= 0:
        raise ConsumptionError(f"unit {unit_ref}: adjustment {adjustment} must be positive")
    quantity = (earlier.quantity * Decimal(this_len) / Decimal(earlier_len) * adjustment
                ).quantize(ESTIMATE_PLACES, rounding=ROUND_HALF_EVEN)
    basis = {"comparable_start": earlier.start.isoformat(),
             "comparable_end": earlier.end.isoformat(),
             "comparable_quantity": str(earlier.quantity),
             "length_ratio": f"{this_len}/{earlier_len}",
             "adjustment": str(adjustment)}
    if adjustment_reason:
        basis["adjustment_reason"] = adjustment_reason
    return EstimatedConsumption(unit_ref, start, end, quantity, "comparable_period", basis)


def estimate_from_comparable_rooms(unit_ref: str, area_m2: Decimal, start: datetime,
                                   end: datetime,
                                   rooms: Sequence[ComparableRoom]) -> EstimatedConsumption:
    """The unit's area × the comparable units' measured consumption per m²."""
    _length(start, end, f"unit {unit_ref}: period")
    total_area = sum((r.area_m2 for r in rooms), Decimal(0))
    if not rooms or total_area <= 0:
        raise ConsumptionError(
            f"unit {unit_ref}: no comparable rooms with area to estimate from")
    if any(r.unit_ref == unit_ref for r in rooms):
        raise ConsumptionError(f"unit {unit_ref}: cannot be its own comparable room")
    total = sum((r.quantity for r in rooms), Decimal(0))
    quantity = (area_m2 * total / total_area).quantize(ESTIMATE_PLACES, rounding=ROUND_HALF_EVEN)
    basis = {"comparable_units": ",".join(r.unit_ref for r in rooms),
             "comparable_area_m2": str(total_area), "comparable_quantity": str(total),
             "area_m2": str(area_m2)}
    return EstimatedConsumption(unit_ref, start, end, quantity, "comparable_rooms", basis)


@dataclass(frozen=True, slots=True)
class UnitFigure:
    unit_ref: str
    area_m2: Decimal
    quantity: Decimal
    estimated: bool


@dataclass(frozen=True, slots=True)
class EstimationShare:
    estimated_area_m2: Decimal
    total_area_m2: Decimal
    estimated_quantity: Decimal
    total_quantity: Decimal

    @property
    def area_share(self) -> Decimal:
        return self.estimated_area_m2 / self.total_area_m2 if self.total_area_m2 else Decimal(0)

    @property
    def quantity_share(self) -> Decimal:
        return (self.estimated_quantity / self.total_quantity if self.total_quantity
                else Decimal(0))

    @property
    def exceeds_limit_by_area(self) -> bool:
        return self.area_share > ESTIMATION_AREA_LIMIT

    @property
    def exceeds_limit_by_quantity(self) -> bool:
        return self.quantity_share > ESTIMATION_AREA_LIMIT

    @property
    def consumption_split_allowed(self) -> bool:
        """False when §9a (2) requires the split by the fixed (area) key."""
        return not self.exceeds_limit_by_area


def estimation_share(units: Sequence[UnitFigure]) -> EstimationShare:
    """The estimated share of a building's area and consumption (§9a (2) figures)."""
    if not units:
        raise ConsumptionError("estimation share: no units given")
    return EstimationShare(
        estimated_area_m2=sum((u.area_m2 for u in units if u.estimated), Decimal(0)),
        total_area_m2=sum((u.area_m2 for u in units), Decimal(0)),
        estimated_quantity=sum((u.quantity for u in units if u.estimated), Decimal(0)),
        total_quantity=sum((u.quantity for u in units), Decimal(0)))
