"""One coordinator per Modbus RTU line: one port, one frame on the wire at a time.

RS-485 is half-duplex with a single master (Modbus over Serial Line V1.02
§2.2): a second request sent before the first answer ends collides on the
wire, so every request on one line goes through ONE asyncio lock.  Between
frames the line must stay silent for 3.5 character times (§2.5.1.1; fixed at
1.75 ms above 19200 baud), which the coordinator waits out before sending.
A device that does not answer costs its own timeout only: the lock is
released and the next device goes on; failures are counted per device.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ModbusException

from firmware_bridge.errors import BridgeError
from firmware_bridge.modbus_request_plan import ReadBlock, decode_blocks
from gateway.errors import PollError
from gateway.modbus_block_read import read_block
from gateway.modbus_tcp_bus import ModbusDevice

BITS_PER_CHARACTER = 11  # start + 8 data + parity/stop + stop, §2.5.1


def inter_frame_silence_s(baud_rate: int) -> float:
    """3.5 character times, or 1.75 ms above 19200 baud (§2.5.1.1)."""
    if baud_rate > 19200:
        return 0.00175
    return 3.5 * BITS_PER_CHARACTER / baud_rate


class ModbusRtuBus:
    """Serializes reads on one serial line; same ``read`` shape as ModbusTcpBus."""

    def __init__(self, name: str, port: str, *, baud_rate: int = 9600,
                 parity: str = "N", stop_bits: int = 1, timeout_s: float = 1.0) -> None:
        self.name = name
        self.port = port
        self.baud_rate = baud_rate
        self._parity = parity
        self._stop_bits = stop_bits
        self._timeout_s = timeout_s
        self._silence_s = inter_frame_silence_s(baud_rate)
        self._client: AsyncModbusSerialClient | None = None  # made inside the event loop
        self._lock = asyncio.Lock()
        self._line_free_at = 0.0  # monotonic time the last frame's silence ends
        self.failed_reads = 0
        self.errors_by_device: Counter[int] = Counter()

    async def _ensure_connected(self) -> AsyncModbusSerialClient:
        if self._client is None:
            self._client = AsyncModbusSerialClient(
                self.port, baudrate=self.baud_rate, parity=self._parity,
                stopbits=self._stop_bits, timeout=self._timeout_s, retries=0)
        if not self._client.connected and not await self._client.connect():
            raise PollError(f"bus {self.name}: cannot open serial port {self.port}")
        return self._client

    async def _read_block(self, client: AsyncModbusSerialClient, device: ModbusDevice,
                          block: ReadBlock) -> list[int]:
        wait_s = self._line_free_at - time.monotonic()
        if wait_s > 0:  # §2.5.1.1: 3.5 character times of silence before a new frame
            await asyncio.sleep(wait_s)
        try:
            return await read_block(client, self.name, device, block)
        finally:
            self._line_free_at = time.monotonic() + self._silence_s

    async def read(self, device: ModbusDevice) -> dict[str, Decimal]:
        """Read every planned block of ``device``; PollError names the device on failure."""
        async with self._lock:
            try:
                client = await self._ensure_connected()
                answers = [await self._read_block(client, device, b) for b in device.blocks]
                return decode_blocks(device.profile, device.blocks, answers)
            except PollError:
                self._count(device)
                raise
            except (ModbusException, BridgeError, OSError) as exc:
                self._count(device)
                raise PollError(f"bus {self.name}, device {device.device_id} "
                                f"({device.serial}): {exc}") from exc

    def _count(self, device: ModbusDevice) -> None:
        self.failed_reads += 1
        self.errors_by_device[device.device_id] += 1

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
