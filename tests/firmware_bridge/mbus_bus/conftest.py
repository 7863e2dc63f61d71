"""Fixtures for the M-Bus master against the simulated bus (pty and TCP).

Timeouts are short because the simulator answers within microseconds on a
pty; they only bound how long the master waits for silence (an absent
slave), they never decide a pass. 38400 baud keeps derived timings small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from firmware_bridge.codecs.mbus_encode import (
    DataField,
    DataRecord,
    FixedHeader,
    ManufacturerData,
    Telegram,
)
from firmware_bridge.transports.mbus_master import MBusMaster
from firmware_bridge.transports.serial_port import SerialPort
from firmware_bridge.transports.tcp_stream import TcpStream
from simulators.mbus_bus import MBusBus, PtyBusServer, TcpBusServer
from simulators.mbus_slave import MBusSlave

VECTORS = Path("/work/shared/vectors/mbus/libmbus")
BAUD = 38400
RESPONSE_TIMEOUT_S = 0.05
FRAME_GAP_S = 0.02
MEDIUM_WATER = 0x07
VIF_VOLUME_L = 0x13  # volume, 10^-3 m^3 (EN 13757-3 table 10: E001 0nnn, n=3)


def water_meter(ident: int, volume_l: int, *, manufacturer: str = "ABC",
                more: bool = False, storage: int = 0) -> Telegram:
    """A telegram with one volume record, optionally flagged 'more records follow'."""
    return Telegram(
        FixedHeader(ident, manufacturer, 1, MEDIUM_WATER, access_no=ident % 256),
        (DataRecord(DataField.INT32, VIF_VOLUME_L, volume_l, storage=storage),),
        ManufacturerData(b"", more_records_follow=True) if more else None,
    )


def slave(ident: int, primary: int = 0, **kwargs: object) -> MBusSlave:
    """A slave answering one water-meter telegram."""
    return MBusSlave.from_encoded(
        [water_meter(ident, 1000 + primary)], primary_address=primary, **kwargs  # type: ignore[arg-type]
    )


BusFactory = Callable[..., tuple[MBusMaster, MBusBus]]


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
