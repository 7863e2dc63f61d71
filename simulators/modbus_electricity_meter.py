"""Simulated Modbus electricity meters on a real Modbus TCP socket.

Each meter answers as an Eastron SDM630 does: input registers (function code
04), IEEE-754 float32 with the high word first (big-endian word and byte
order), addresses from the Eastron "SDM630 Modbus Protocol" register table:

    address  name                         unit
    0x0000   phase 1 line-to-neutral volts  V
    0x000C   phase 1 active power           W
    0x0034   total system power             W
    0x0048   import active energy           kWh
    0x004A   export active energy           kWh
    0x0156   total active energy            kWh

Several meters share one TCP server, one Modbus device id each, the way a
building's RS-485 line sits behind one Modbus TCP gateway.  Register values are
computed at read time from the meter's load and the simulation clock, so the
bytes on the wire are what a real meter would send at that instant (including
float32's limited resolution).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simulators.sim_clock import Clock

INPUT_REGISTER_COUNT = 0x0160  # covers every address in the table above
REG_VOLTAGE_L1 = 0x0000
REG_POWER_L1 = 0x000C
REG_POWER_TOTAL = 0x0034
REG_ENERGY_IMPORT = 0x0048
REG_ENERGY_EXPORT = 0x004A
REG_ENERGY_TOTAL = 0x0156
FC_READ_INPUT_REGISTERS = 4


def float32_words(value: float) -> tuple[int, int]:
    """IEEE-754 float32, high word first (Eastron's documented order)."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


@dataclass(frozen=True, slots=True)
class MeterModel:
    """What one simulated meter reports: energy and power as functions of time."""

    device_id: int
    energy_kwh: Callable[[Clock], float]
    power_w: Callable[[Clock], float]


def _registers_for(model: MeterModel, clock: Clock) -> dict[int, tuple[int, int]]:
    power = model.power_w(clock)
    energy = model.energy_kwh(clock)
    return {
        REG_VOLTAGE_L1: float32_words(230.0),
        REG_POWER_L1: float32_words(power),
        REG_POWER_TOTAL: float32_words(power),
        REG_ENERGY_IMPORT: float32_words(energy),
        REG_ENERGY_EXPORT: float32_words(0.0),
        REG_ENERGY_TOTAL: float32_words(energy),
    }


async def _on_access(
    model: MeterModel,
    clock: Clock,
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    current_registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    """pymodbus device action: refresh the input registers before every read."""
    if set_values is not None:
        return ExcCodes.ILLEGAL_FUNCTION  # a meter's measurements are read-only
    if function_code != FC_READ_INPUT_REGISTERS:
        return None
    for reg, (high, low) in _registers_for(model, clock).items():
        offset = reg - start_address
        current_registers[offset] = high
        current_registers[offset + 1] = low
    return None


def _device(model: MeterModel, clock: Clock) -> SimDevice:
    inputs = [SimData(0, count=INPUT_REGISTER_COUNT, values=0, datatype=DataType.REGISTERS)]
    holding = [SimData(0, count=2, values=0, datatype=DataType.REGISTERS)]
    bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
    return SimDevice(
        model.device_id,
        simdata=(bits, bits, holding, inputs),
        action=partial(_on_access, model, clock),
    )


class ModbusMeterServer:
    """A Modbus TCP server on 127.0.0.1 holding several simulated meters.

    Use as ``async with ModbusMeterServer(models, clock) as server:``;
    ``server.port`` is the port the OS gave (port 0 = any free port).
    """

    def __init__(self, models: Sequence[MeterModel], clock: Clock,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        ids = [m.device_id for m in models]
        if len(set(ids)) != len(ids):
            raise ValueError(f"device ids must be distinct, got {ids}")
        self._server = ModbusTcpServer(
            [_device(m, clock) for m in models], address=(host, port)
        )
        self.host = host
        self.port = port

    async def start(self) -> int:
        await self._server.serve_forever(background=True)
        sockets = self._server.transport.sockets  # type: ignore[union-attr]
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        await self._server.shutdown()

    async def __aenter__(self) -> ModbusMeterServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
