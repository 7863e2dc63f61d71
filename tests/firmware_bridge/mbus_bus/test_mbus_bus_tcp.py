"""The M-Bus master over TCP (serial-to-Ethernet converter) against the simulated bus."""

from __future__ import annotations

from decimal import Decimal

import pytest

from firmware_bridge.codecs.mbus import decode_user_data
from firmware_bridge.errors import FrameError, TransportError
from firmware_bridge.transports.mbus_master import MBusMaster, Probe
from firmware_bridge.transports.tcp_stream import TcpStream
from simulators.mbus_slave import Fault, MBusSlave

from .mbus_bus_helpers import BusFactory, slave, water_meter


def test_tcp_primary_read_multi_telegram_and_scan(tcp_bus: BusFactory) -> None:
    meter = MBusSlave.from_encoded(
        [water_meter(31000001, 5, more=True), water_meter(31000001, 6)], primary_address=2
    )
    master, _ = tcp_bus([meter, slave(38000002, primary=3), slave(45000000, primary=4)],
                        response_timeout_s=0.03)
    frames = master.read(2)
    values = [decode_user_data(f.c, f.a, f.ci, f.data).records[0].value for f in frames]  # type: ignore[union-attr]
    assert values == [Decimal("0.005"), Decimal("0.006")]
    assert master.select("38000002FFFFFFFF") is Probe.SINGLE
    found = master.scan_secondary("FFFFFFFFFFFFFFFF").found
    assert sorted(a.id for a in found) == [31000001, 38000002, 45000000]


def test_tcp_faults_raise_clear_errors(tcp_bus: BusFactory) -> None:
    master, _ = tcp_bus([slave(1, primary=1, always_fault=Fault.WRONG_CHECKSUM)],
                        max_data_retry=1)
    with pytest.raises(FrameError, match=r"tcp://127\.0\.0\.1:\d+: \d+ bytes without a valid"):
        master.read(1)
    with pytest.raises(TransportError, match="no answer from tcp://"):
        master.read(9)


def test_tcp_converter_closing_the_connection_is_a_transport_error() -> None:
    from simulators.mbus_bus import MBusBus, TcpBusServer

    server = TcpBusServer(MBusBus([slave(1, primary=1)]))
    server.start()
    host, port = server.address
    with TcpStream(host, port, response_timeout_s=0.5) as stream:
        master = MBusMaster(stream)
        assert len(master.read(1)) == 1
        server.stop()
        closed = r"M-Bus TCP tcp://127\.0\.0\.1:\d+: (connection closed|send failed|receive failed)"
        with pytest.raises(TransportError, match=closed):
            master.read(1)


def test_tcp_refused_connection_is_a_transport_error() -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match=rf"M-Bus TCP 127\.0\.0\.1:{port}: cannot connect"):
        TcpStream("127.0.0.1", port)
