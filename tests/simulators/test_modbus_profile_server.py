"""Simulator -> real pymodbus client, for every shipped profile, over TCP and RTU on a pty."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

import pytest

from firmware_bridge.modbus_profile import DeviceProfile, list_profiles, load_profile
from gateway.modbus_rtu_bus import ModbusRtuBus
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from simulators.modbus_profile_server import (
    ModbusProfileServer,
    SimulatedDevice,
    constant,
    crc16,
    load_curve,
    step,
)


def as_decoded(profile: DeviceProfile, values: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """What a client must see: each value through the profile's encoder and decoder."""
    return {n: profile.register(n).decode(profile.register(n).encode(v))
            for n, v in values.items()}


def scenario_values(profile: DeviceProfile) -> dict[str, Decimal]:
    return dict(profile.tests[0].expect)


@pytest.mark.parametrize("key", list_profiles())
def test_profile_round_trips_over_tcp(key: str) -> None:
    profile = load_profile(key)
    values = scenario_values(profile)

    async def run() -> dict[str, Decimal]:
        server = ModbusProfileServer({7: SimulatedDevice(profile, constant(values))})
        tcp = await server.serve_tcp()
        bus = ModbusTcpBus("t", "127.0.0.1", tcp.sockets[0].getsockname()[1], timeout_s=2)
        try:
            return await bus.read(ModbusDevice.create("m", 7, profile, list(values)))
        finally:
            bus.close()
            tcp.close()

    assert asyncio.run(run()) == as_decoded(profile, values)


@pytest.mark.parametrize("key", list_profiles())
def test_profile_round_trips_over_rtu_pty(key: str) -> None:
    profile = load_profile(key)
    values = scenario_values(profile)

    async def run() -> dict[str, Decimal]:
        server = ModbusProfileServer({3: SimulatedDevice(profile, constant(values))})
        pty = server.serve_rtu_pty()
        bus = ModbusRtuBus("r", pty.path, baud_rate=115200, timeout_s=2)
        try:
            return await bus.read(ModbusDevice.create("m", 3, profile, list(values)))
        finally:
            bus.close()
            pty.close()

    assert asyncio.run(run()) == as_decoded(profile, values)


def test_crc16_matches_spec_example() -> None:
    # Modbus over Serial Line V1.02 §6.2.2 style check: 01 03 00 00 00 0A -> C5 CD
    assert crc16(bytes.fromhex("01030000000a")).to_bytes(2, "little") == bytes.fromhex("c5cd")


def test_step_switches_at_its_time() -> None:
    scenario = step({"p": Decimal(1)}, {"p": Decimal(5)}, at_s=10)
    assert scenario(9.99)["p"] == Decimal(1)
    assert scenario(10)["p"] == Decimal(5)


def test_load_curve_energy_only_grows() -> None:
    scenario = load_curve({}, {"e": Decimal("100")},
                          lambda t: Decimal(3600) if t < 5 else Decimal(0))
    readings = [scenario(t)["e"] for t in range(0, 12)]
    assert readings == sorted(readings)
    assert readings[0] == Decimal("100.000")
    assert readings[-1] == Decimal("105.000")  # 5 s at 3600 kW = 5 kWh
