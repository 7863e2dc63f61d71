"""Fixtures the gateway fault scenarios share: a registered building and the fault rig."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gateway.fault_rig import Rig, rig
from tests.slice.building_fixture import registered_demo_building


@pytest.fixture
def building(db_dsn: str) -> dict[int, str]:
    """Device id -> meter serial of a registered three-unit demo building."""
    sim, _ = registered_demo_building(db_dsn, units=3)
    return {u.device_id: u.meter_serial for u in sim.units}


@pytest.fixture
def the_rig(building: dict[int, str], db_dsn: str) -> Iterator[Rig]:
    with rig(building, db_dsn) as r:
        yield r
