"""Electric load of a simulated consumer and the energy it has used up to a time.

Power follows a daily wave, ``P(t) = base + swing · sin(2πt/24h + phase)`` kW,
with ``base > swing`` so the counter never runs backwards.  Energy is its exact
integral, so the register value at any instant is a pure function of time:
two polls at the same simulated instant read the same value, and a test can
compute the expected consumption of any period without replaying the polls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
DAY_H = 24.0


@dataclass(frozen=True, slots=True)
class DailyLoad:
    base_kw: float
    swing_kw: float
    phase_rad: float
    start_kwh: float

    def __post_init__(self) -> None:
        if self.base_kw <= abs(self.swing_kw):
            raise ValueError("base_kw must exceed swing_kw so energy never decreases")

    def power_w(self, at: datetime) -> float:
        hours = (at - EPOCH).total_seconds() / 3600.0
        return 1000.0 * (self.base_kw + self.swing_kw * math.sin(2 * math.pi * hours / DAY_H
                                                                  + self.phase_rad))

    def energy_kwh(self, at: datetime) -> float:
        hours = (at - EPOCH).total_seconds() / 3600.0
        omega = 2 * math.pi / DAY_H
        wave = -(self.swing_kw / omega) * (
            math.cos(omega * hours + self.phase_rad) - math.cos(self.phase_rad)
        )
        return self.start_kwh + self.base_kw * hours + wave
