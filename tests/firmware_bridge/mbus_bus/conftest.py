"""Fixtures: the simulated bus behind a pty or TCP, and a master on it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from firmware_bridge.transports.mbus_master import MBusMaster
from firmware_bridge.transports.serial_port import SerialPort
from firmware_bridge.transports.tcp_stream import TcpStream
from simulators.mbus_bus import MBusBus, PtyBusServer, TcpBusServer
from simulators.mbus_slave import MBusSlave

from .mbus_bus_helpers import BAUD, FRAME_GAP_S, RESPONSE_TIMEOUT_S, BusFactory


@pytest.fixture
def pty_bus() -> Iterator[BusFactory]:
    """Start a simulated bus behind a pty; return the master on its serial port."""
    opened: list[tuple[PtyBusServer, SerialPort]] = []

    def start(slaves: Sequence[MBusSlave], *, response_timeout_s: float = RESPONSE_TIMEOUT_S,
              echo: bool = False, **master_kwargs: object) -> tuple[MBusMaster, MBusBus]:
        bus = MBusBus(slaves, echo=echo)
        server = PtyBusServer(bus)
        server.start()
        port = SerialPort(server.port, BAUD, response_timeout_s=response_timeout_s,
                          frame_gap_s=FRAME_GAP_S)
        opened.append((server, port))
        return MBusMaster(port, **master_kwargs), bus  # type: ignore[arg-type]

    yield start
    for server, port in opened:
        port.close()
        server.stop()


@pytest.fixture
def tcp_bus() -> Iterator[BusFactory]:
    """Start a simulated bus behind a TCP listener on port 0."""
    opened: list[tuple[TcpBusServer, TcpStream]] = []

    def start(slaves: Sequence[MBusSlave], *, response_timeout_s: float = RESPONSE_TIMEOUT_S,
              **master_kwargs: object) -> tuple[MBusMaster, MBusBus]:
        bus = MBusBus(slaves)
        server = TcpBusServer(bus)
        server.start()
        host, port_number = server.address
        stream = TcpStream(host, port_number, bus_baudrate=BAUD,
                           response_timeout_s=response_timeout_s, frame_gap_s=FRAME_GAP_S)
        opened.append((server, stream))
        return MBusMaster(stream, **master_kwargs), bus  # type: ignore[arg-type]

    yield start
    for server, stream in opened:
        stream.close()
        server.stop()
