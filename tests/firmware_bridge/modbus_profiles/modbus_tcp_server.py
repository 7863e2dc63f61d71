"""A real pymodbus TCP server on port 0, filled from a profile with our encoder.

It runs in its own thread and event loop so synchronous clients (the CLI)
can talk to it from the test thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal

from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_bridge.modbus_profile import DeviceProfile
from firmware_bridge.modbus_request_plan import plan_reads


def datastore_blocks(profile: DeviceProfile, values: Mapping[str, Decimal]
                     ) -> dict[int, list[SimData]]:
    """SimData per function code covering every planned read; holes are zero."""
    by_fc: dict[int, list[SimData]] = {3: [], 4: []}
    for block in plan_reads(profile):
        words = [0] * block.count
        for name in block.names:
            register = profile.register(name)
            offset = register.address - block.address
            words[offset:offset + register.count] = register.encode(values[name])
        by_fc[block.function_code].append(
            SimData(block.address, values=words, datatype=DataType.REGISTERS))
    return by_fc


@contextmanager
def modbus_tcp_server(profile: DeviceProfile, values: Mapping[str, Decimal],
                      unit: int, framer: FramerType = FramerType.SOCKET) -> Iterator[int]:
    """Serve ``values`` as device ``unit`` on 127.0.0.1; yields the port.

    ``framer=FramerType.RTU`` gives RTU frames (CRC, no MBAP) over TCP, as a
    serial device server does, so the CLI's serial path runs through pyserial's
    ``socket://`` URL.
    """
    by_fc = datastore_blocks(profile, values)
    for fc in (3, 4):
        if not by_fc[fc]:  # pymodbus wants every space non-empty
            by_fc[fc].append(SimData(0, values=[0], datatype=DataType.REGISTERS))
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    device = SimDevice(unit, simdata=(bits, list(bits), by_fc[3], by_fc[4]))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state: dict[str, object] = {}

    async def start() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", 0), framer=framer)
        await server.serve_forever(background=True)
        state["server"] = server
        state["port"] = server.transport.sockets[0].getsockname()[1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # surface start-up failures in the test thread
            state["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="modbus-tcp-test-server", daemon=True)
    thread.start()
    started.wait(10)
    if "error" in state:
        raise RuntimeError("pymodbus test server did not start") from state["error"]
    try:
        yield int(state["port"])
    finally:
        server = state["server"]
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
