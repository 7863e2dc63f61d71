"""RTU line coordination against the profile simulator on a pty."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal

import pytest

from firmware_bridge.modbus_profile import load_profile
from gateway.errors import PollError
from gateway.modbus_rtu_bus import ModbusRtuBus, inter_frame_silence_s
from gateway.modbus_tcp_bus import ModbusDevice
from simulators.modbus_profile_server import (
    Fault,
    ModbusProfileServer,
    SimulatedDevice,
    constant,
)


def test_inter_frame_silence_follows_serial_line_2_5_1_1() -> None:
    assert inter_frame_silence_s(9600) == pytest.approx(3.5 * 11 / 9600)
    assert inter_frame_silence_s(115200) == 0.00175


def test_two_pollers_on_one_line_never_interleave() -> None:
    profile = load_profile("sdm630")
    values = dict(profile.tests[0].expect)
    names = list(values)

    async def run() -> tuple[list[dict[str, Decimal]], ModbusProfileServer]:
        server = ModbusProfileServer({
            1: SimulatedDevice(profile, constant(values), answer_delay_s=0.003),
            2: SimulatedDevice(profile, constant(values), answer_delay_s=0.003),
        })
        pty = server.serve_rtu_pty()
        bus = ModbusRtuBus("line", pty.path, baud_rate=115200, timeout_s=2)
        devices = [ModbusDevice.create(f"m{i}", i, profile, names) for i in (1, 2)]

        async def poller(device: ModbusDevice) -> list[dict[str, Decimal]]:
            return [await bus.read(device) for _ in range(5)]
        try:
            results = await asyncio.gather(poller(devices[0]), poller(devices[1]))
        finally:
            bus.close()
            pty.close()
        return [r for rs in results for r in rs], server

    readings, server = asyncio.run(run())
    assert len(readings) == 10
    assert all(r == readings[0] for r in readings)
    assert {e.device_id for e in server.log} == {1, 2}
    frames = sorted(server.log, key=lambda e: e.arrived_s)
    assert len(frames) >= 10
    for previous, current in itertools.pairwise(frames):
        assert previous.answered_s is not None
        assert current.arrived_s >= previous.answered_s, "request sent before answer"
        # §2.5.1.1: 3.5 characters (1.75 ms above 19200 baud) of silence between frames;
        # pymodbus alone serializes requests but does not keep this gap.
        assert current.arrived_s - previous.answered_s >= inter_frame_silence_s(115200)


@pytest.mark.parametrize("fault", [Fault.GARBLED_CRC, Fault.EXCEPTION, Fault.TIMEOUT])
def test_faulty_device_is_counted_and_next_device_reads(fault: Fault) -> None:
    profile = load_profile("sdm120")
    values = dict(profile.tests[0].expect)
    names = list(values)

    async def run() -> tuple[ModbusRtuBus, dict[str, Decimal], str]:
        server = ModbusProfileServer({
            1: SimulatedDevice(profile, constant(values), fault=fault),
            2: SimulatedDevice(profile, constant(values)),
        })
        pty = server.serve_rtu_pty()
        bus = ModbusRtuBus("line", pty.path, baud_rate=115200, timeout_s=0.3)
        bad = ModbusDevice.create("bad", 1, profile, names)
        good = ModbusDevice.create("good", 2, profile, names)
        try:
            with pytest.raises(PollError) as info:
                await bus.read(bad)
            reading = await bus.read(good)
        finally:
            bus.close()
            pty.close()
        return bus, reading, str(info.value)

    bus, reading, message = asyncio.run(run())
    assert "device 1 (bad)" in message
    assert bus.errors_by_device == {1: 1}
    assert bus.failed_reads == 1
    assert reading["voltage_l1_v"] == Decimal("231.7")
