"""A simulated building: units with their own electricity meters, plus a main meter.

The main meter measures everything: the units' use and the common load
(stairwell lights, lift), so ``main − Σ units`` is the common consumption that
billing splits by living area.  Everything derives from a seed, so the demo and
the tests get the same building and the same readings every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from simulators.load_profile import DailyLoad
from simulators.modbus_electricity_meter import MeterModel
from simulators.sim_clock import Clock

MAIN_DEVICE_ID = 100


@dataclass(frozen=True, slots=True)
class SimUnit:
    code: str
    name: str
    living_area_m2: Decimal
    heated_area_m2: Decimal
    persons: int
    meter_serial: str
    device_id: int
    load: DailyLoad


@dataclass(frozen=True, slots=True)
class SimBuilding:
    property_code: str
    code: str
    name: str
    address: str
    units: tuple[SimUnit, ...]
    main_meter_serial: str
    main_device_id: int
    common_loads: tuple[DailyLoad, ...]  # stairwell lights, lift

    def main_energy_kwh(self, clock: Clock) -> float:
        at = clock.now()
        return sum(u.load.energy_kwh(at) for u in self.units) + sum(
            c.energy_kwh(at) for c in self.common_loads
        )

    def main_power_w(self, clock: Clock) -> float:
        at = clock.now()
        return sum(u.load.power_w(at) for u in self.units) + sum(
            c.power_w(at) for c in self.common_loads
        )

    def meter_models(self) -> list[MeterModel]:
        """One Modbus device per unit meter plus the main meter."""
        models = [
            MeterModel(
                u.device_id,
                energy_kwh=lambda clock, load=u.load: load.energy_kwh(clock.now()),
                power_w=lambda clock, load=u.load: load.power_w(clock.now()),
            )
            for u in self.units
        ]
        models.append(MeterModel(self.main_device_id, self.main_energy_kwh, self.main_power_w))
        return models


def demo_building(units: int = 6, seed: int = 7) -> SimBuilding:
    """A small apartment house; areas and loads drawn from ``seed``."""
    if not 1 <= units <= 99:
        raise ValueError(f"units must be 1..99, got {units}")
    rng = random.Random(seed)
    sim_units = []
    for i in range(1, units + 1):
        area = Decimal(rng.randrange(4200, 11800)) / 100  # 42.00 .. 117.99 m²
        base = round(rng.uniform(0.15, 0.45), 3)
        sim_units.append(
            SimUnit(
                code=f"W{i:02d}",
                name=f"Apartment {i}",
                living_area_m2=area,
                heated_area_m2=area,
                persons=rng.randint(1, 4),
                meter_serial=f"SDM-{seed:03d}-{i:03d}",
                device_id=i,
                load=DailyLoad(base, round(base * rng.uniform(0.3, 0.8), 3),
                               rng.uniform(0, 6.28), rng.uniform(1000, 9000)),
            )
        )
    stairwell = DailyLoad(0.06, 0.04, 3.14, 500.0)
    lift = DailyLoad(0.35, 0.2, 1.0, 2000.0)
    return SimBuilding(
        property_code="DEMO",
        code="B1",
        name="Lindenstraße 12",
        address="Lindenstraße 12, 10115 Berlin",
        units=tuple(sim_units),
        main_meter_serial=f"SDM-{seed:03d}-MAIN",
        main_device_id=MAIN_DEVICE_ID,
        common_loads=(stairwell, lift),
    )
