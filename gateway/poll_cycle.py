"""One poll cycle: every device on every bus read once, all stamped with the cycle's time.

The timestamp is the scheduled instant of the cycle (aligned to the interval,
e.g. :00, :15 …), not the moment each answer arrived: readings of one cycle
describe one instant, which is what interval billing and comparisons need.
A device that fails is counted and skipped; the others still deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gateway.errors import PollError
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from gateway.reading import Reading


@dataclass(slots=True)
class CycleResult:
    read_at: datetime
    readings: list[Reading] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def poll_once(buses: Sequence[tuple[ModbusTcpBus, Sequence[ModbusDevice]]],
                    read_at: datetime) -> CycleResult:
    result = CycleResult(read_at)
    for bus, devices in buses:
        for device in devices:
            try:
                values = await bus.read(device)
            except PollError as exc:
                result.failures.append(str(exc))
                continue
            result.readings.extend(
                Reading(device.serial, name, read_at, value) for name, value in values.items()
            )
    return result
