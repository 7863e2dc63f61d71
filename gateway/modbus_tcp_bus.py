"""One coordinator per Modbus TCP bus: one connection, one request at a time.

A Modbus TCP gateway in a building fronts one RS-485 line; requests for
different device ids still travel that one line, so the coordinator owns the
connection and serializes requests with a lock (as Home Assistant's ModbusHub
does).  The bytes and their meaning come from firmware_bridge: profiles plan
the reads and decode the registers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from firmware_bridge.errors import BridgeError
from firmware_bridge.modbus_profile import DeviceProfile
from firmware_bridge.modbus_request_plan import ReadBlock, decode_blocks, plan_reads
from gateway.errors import PollError
from gateway.modbus_block_read import read_block


@dataclass(frozen=True, slots=True)
class ModbusDevice:
    """A meter on the bus: its server-side serial, Modbus device id, profile, wanted registers."""

    serial: str
    device_id: int
    profile: DeviceProfile
    registers: tuple[str, ...]
    blocks: tuple[ReadBlock, ...] = field(default=())

    @classmethod
    def create(cls, serial: str, device_id: int, profile: DeviceProfile,
               registers: Sequence[str]) -> ModbusDevice:
        blocks = tuple(plan_reads(profile, registers))
        return cls(serial, device_id, profile, tuple(registers), blocks)


class ModbusTcpBus:
    def __init__(self, name: str, host: str, port: int, *, timeout_s: float = 3.0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | None = None  # made inside the event loop
        self._lock = asyncio.Lock()
        self.failed_reads = 0

    async def _ensure_connected(self) -> AsyncModbusTcpClient:
        if self._client is None:
            self._client = AsyncModbusTcpClient(self.host, port=self.port,
                                                timeout=self._timeout_s, retries=1)
        if not self._client.connected and not await self._client.connect():
            raise PollError(f"bus {self.name}: cannot connect to {self.host}:{self.port}")
        return self._client

    async def read(self, device: ModbusDevice) -> dict[str, Decimal]:
        """Read every planned block of ``device``; PollError names the device on failure."""
        async with self._lock:
            try:
                client = await self._ensure_connected()
                answers = [await read_block(client, self.name, device, b) for b in device.blocks]
                return decode_blocks(device.profile, device.blocks, answers)
            except PollError:
                self.failed_reads += 1
                raise
            except (ModbusException, BridgeError, OSError) as exc:
                self.failed_reads += 1
                raise PollError(f"bus {self.name}, device {device.device_id} "
                                f"({device.serial}): {exc}") from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

