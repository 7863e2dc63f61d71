"""Simulated meters on a real Modbus TCP socket → gateway poll → COPY → rows in readings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pytest

from firmware_bridge.modbus_profile import load_profile
from gateway.errors import UplinkError
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from gateway.poll_cycle import poll_once
from gateway.reading import Reading
from gateway.readings_writer import write_readings
from simulators.modbus_electricity_meter import ModbusMeterServer
from simulators.sim_clock import ManualClock
from tests.slice.building_fixture import registered_demo_building

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def float32_decimal(value: float) -> Decimal:
    """What an SDM630 float32 register holds for ``value``, as its shortest decimal."""
    return Decimal(str(np.float32(value)))


async def poll_cycles(sim, cycles: int) -> list[Reading]:
    clock = ManualClock(T0)
    profile = load_profile("sdm630")
    devices = [ModbusDevice.create(u.meter_serial, u.device_id, profile, ("energy_import_kwh",))
               for u in sim.units]
    readings: list[Reading] = []
    async with ModbusMeterServer(sim.meter_models(), clock) as server:
        bus = ModbusTcpBus("test", "127.0.0.1", server.port)
        try:
            for i in range(cycles):
                at = T0 + timedelta(hours=i)
                clock.set(at)
                result = await poll_once([(bus, devices)], at)
                assert result.failures == []
                readings.extend(result.readings)
        finally:
            bus.close()
    return readings


def test_polled_readings_land_with_the_simulators_values(db_dsn: str) -> None:
    sim, _ = registered_demo_building(db_dsn)
    readings = asyncio.run(poll_cycles(sim, 3))
    assert len(readings) == 3 * len(sim.units)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        result = write_readings(conn, readings)
        assert (result.received, result.inserted, result.quarantined) == (18, 18, 0)
        rows = conn.execute(
            "SELECT m.serial, r.read_at, r.value FROM readings r JOIN meters m ON m.id = r.meter_id"
            " WHERE r.register = 'energy_import_kwh'"
        ).fetchall()
    stored = {(serial, at): value for serial, at, value in rows}
    for unit in sim.units:
        for i in range(3):
            at = T0 + timedelta(hours=i)
            assert stored[(unit.meter_serial, at)] == float32_decimal(unit.load.energy_kwh(at))


def test_resending_a_batch_adds_nothing(db_dsn: str) -> None:
    sim, _ = registered_demo_building(db_dsn)
    readings = asyncio.run(poll_cycles(sim, 2))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        first = write_readings(conn, readings)
        again = write_readings(conn, readings + readings[:3])  # a re-send plus a partial repeat
        count = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert first.inserted == len(readings)
    assert again.inserted == 0 and again.duplicates == len(readings) + 3
    assert count is not None and count[0] == len(readings)


def test_unknown_meter_serial_is_quarantined_not_lost(db_dsn: str) -> None:
    registered_demo_building(db_dsn)
    stray = Reading("NOT-REGISTERED", "energy_import_kwh", T0, Decimal("12.5"))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        result = write_readings(conn, [stray])
        kept = conn.execute("SELECT meter_serial, value FROM readings_quarantine").fetchall()
    assert (result.inserted, result.quarantined) == (0, 1)
    assert kept == [("NOT-REGISTERED", Decimal("12.5"))]


def test_a_batch_the_database_refuses_writes_nothing(db_dsn: str) -> None:
    sim, _ = registered_demo_building(db_dsn)
    good = Reading(sim.units[0].meter_serial, "energy_import_kwh", T0, Decimal("1"))
    bad = Reading(sim.units[1].meter_serial, "Energy Import", T0, Decimal("2"))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(UplinkError, match=r"writing 2 readings .* failed: .*check constraint"):
            write_readings(conn, [good, bad])
        count = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert count is not None and count[0] == 0


def test_a_reading_that_is_not_a_number_is_refused_at_the_source() -> None:
    with pytest.raises(ValueError, match=r"SDM-1/energy_import_kwh .* is not a number"):
        Reading("SDM-1", "energy_import_kwh", T0, Decimal("NaN"))
