"""The consumption engine: raw register readings become trustworthy, explainable consumption.

Pure computation (no database): ``api.store`` loads readings and stores the
figures, flags and provenance this package returns.

* ``register_curve``: cumulative vs interval registers, rollover, reset,
  meter exchange → one consumption curve;
* ``period_consumption``: use between any two instants, linear interpolation
  to the cut-off date, method recorded;
* ``validation``: negative, stuck, spike (median/MAD), gap, night flow;
* ``estimation``: HeizkostenV §9a estimates and the 25 % figures;
* ``common_share``: main meter minus sub-meters, losses ratio flag;
* ``provenance``: readings, edges, estimation and flags behind a figure.
"""

from billing_core.consumption.common_share import CommonShare, common_share
from billing_core.consumption.estimation import (
    ComparablePeriod,
    ComparableRoom,
    EstimatedConsumption,
    EstimationShare,
    UnitFigure,
    estimate_from_comparable_period,
    estimate_from_comparable_rooms,
    estimation_share,
)
from billing_core.consumption.period_consumption import (
    PeriodConsumption,
    period_consumption,
    value_at,
)
from billing_core.consumption.provenance import (
    EdgeMethod,
    EdgeValue,
    Flag,
    FlagKind,
    Provenance,
    Reading,
)
from billing_core.consumption.register_curve import (
    ConsumptionCurve,
    CurvePoint,
    MeterExchange,
    MeterSegment,
    RegisterKind,
    RegisterSpec,
    build_curve,
)
from billing_core.consumption.validation import ValidationRules, validate

__all__ = [
    "CommonShare",
    "ComparablePeriod",
    "ComparableRoom",
    "ConsumptionCurve",
    "CurvePoint",
    "EdgeMethod",
    "EdgeValue",
    "EstimatedConsumption",
    "EstimationShare",
    "Flag",
    "FlagKind",
    "MeterExchange",
    "MeterSegment",
    "PeriodConsumption",
    "Provenance",
    "Reading",
    "RegisterKind",
    "RegisterSpec",
    "UnitFigure",
    "ValidationRules",
    "build_curve",
    "common_share",
    "estimate_from_comparable_period",
    "estimate_from_comparable_rooms",
    "estimation_share",
    "period_consumption",
    "validate",
    "value_at",
]
