"""A registered demo building in a test database (shared by the slice tests)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg

from api.catalog.service import RegisteredBuilding, register_building
from meterbill.demo import building_spec
from simulators.building import SimBuilding, demo_building


def registered_demo_building(dsn: str, units: int = 6, seed: int = 7,
                             tariff: Decimal = Decimal("32.15")) -> tuple[SimBuilding,
                                                                            RegisteredBuilding]:
    sim = demo_building(units=units, seed=seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        registered = register_building(conn, building_spec(sim, tariff, date(2020, 1, 1)))
    return sim, registered
