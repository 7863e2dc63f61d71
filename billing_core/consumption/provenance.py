"""Flags and provenance: what every consumption figure carries so a bill line can be explained.

A figure without its provenance cannot be checked by the tenant (BetrKV and
HeizkostenV bills must be *nachvollziehbar*): which readings were used, how
each period edge was valued (a reading on the edge, or linear interpolation
between the readings around it), whether the figure was estimated (HeizkostenV
§9a) and which validation flags touch it.  ``as_dict`` gives the JSON stored
in ``consumption_figures.provenance``; Decimals become strings so no digit is
lost on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class FlagKind(StrEnum):
    """Why an interval was flagged (the ``consumption_flags.kind`` vocabulary)."""

    NEGATIVE = "negative"
    STUCK = "stuck"
    SPIKE = "spike"
    GAP = "gap"
    NIGHT_FLOW = "night_flow"
    RESET = "reset"
    ROLLOVER = "rollover"
    EXCHANGE = "exchange"
    ESTIMATED = "estimated"
    LOSSES_RATIO = "losses_ratio"


@dataclass(frozen=True, slots=True)
class Reading:
    """One register reading of one meter (``read_at`` UTC-aware)."""

    read_at: datetime
    value: Decimal
    meter_serial: str = ""


@dataclass(frozen=True, slots=True)
class Flag:
    """A flagged interval of a meter register, with the rule and a reason a person can read."""

    kind: FlagKind
    start: datetime
    end: datetime
    reason: str
    meter_serial: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "start": self.start.isoformat(),
                "end": self.end.isoformat(), "meter_serial": self.meter_serial,
                "reason": self.reason, "details": dict(self.details)}


class EdgeMethod(StrEnum):
    """How the register was valued at a period edge."""

    READING_ON_EDGE = "reading_on_edge"
    LINEAR_INTERPOLATION = "linear_interpolation"


@dataclass(frozen=True, slots=True)
class EdgeValue:
    """The consumption curve's value at a period edge and the readings it came from.

    ``consumed`` is on the curve (cumulative use since the series began, with
    rollovers and exchanges already resolved), not a register value.
    """

    at: datetime
    consumed: Decimal
    method: EdgeMethod
    before: Reading | None
    after: Reading | None

    @property
    def readings(self) -> tuple[Reading, ...]:
        found = [r for r in (self.before, self.after) if r is not None]
        if len(found) == 2 and found[0] == found[1]:
            found = found[:1]
        return tuple(found)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "consumed": str(self.consumed),
                "method": str(self.method),
                "readings": [reading_dict(r) for r in self.readings]}


def reading_dict(reading: Reading) -> dict[str, str]:
    return {"meter_serial": reading.meter_serial, "read_at": reading.read_at.isoformat(),
            "value": str(reading.value)}


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a figure came from: readings, edge methods, estimation, flags."""

    method: str
    readings: tuple[Reading, ...] = ()
    edges: tuple[EdgeValue, ...] = ()
    estimation: dict[str, str] | None = None
    flags: tuple[Flag, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method,
                "readings": [reading_dict(r) for r in self.readings],
                "edges": [e.as_dict() for e in self.edges],
                "estimation": dict(self.estimation) if self.estimation is not None else None,
                "flags": [f.as_dict() for f in self.flags]}
