"""One planned read on a Modbus client: the part every bus coordinator shares.

TCP and RTU coordinators differ in how they hold the line (connection, lock,
inter-frame silence); the request itself — function code 03 or 04 for one
``ReadBlock`` of one device, and what counts as a failed answer — is the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pymodbus.client.base import ModbusBaseClient

from firmware_bridge.modbus_request_plan import ReadBlock
from gateway.errors import PollError

if TYPE_CHECKING:  # the device type lives with the TCP bus, which imports this module
    from gateway.modbus_tcp_bus import ModbusDevice


async def read_block(client: ModbusBaseClient, bus_name: str, device: ModbusDevice,
                     block: ReadBlock) -> list[int]:
    """The registers of ``block``; PollError names the bus, device and block otherwise."""
    if block.function_code == 3:
        response = await client.read_holding_registers(
            block.address, count=block.count, device_id=device.device_id)
    elif block.function_code == 4:
        response = await client.read_input_registers(
            block.address, count=block.count, device_id=device.device_id)
    else:
        raise PollError(f"bus {bus_name}: function code {block.function_code} not readable")
    if response.isError():
        raise PollError(f"bus {bus_name}, device {device.device_id} ({device.serial}): "
                        f"{block.describe()} answered {response}")
    return list(response.registers)
