"""Serial line settings: M-Bus baud rates, 8E1, timeouts derived from the baud rate."""

from __future__ import annotations

import pytest
import serial

from firmware_bridge.errors import TransportError
from firmware_bridge.transports.serial_port import (
    BAUD_RATES,
    SerialPort,
    frame_gap_for,
    response_timeout_for,
)
from simulators.mbus_bus import MBusBus, PtyBusServer

from .mbus_bus_helpers import BusFactory, slave


def test_response_timeout_follows_en13757_2_and_libmbus() -> None:
    # (330 + 11) bit times + 50 ms + 100 ms adapter margin: libmbus's 292 ms at 2400 baud
    assert response_timeout_for(2400) == pytest.approx(0.292, abs=0.0005)
    assert response_timeout_for(300) == pytest.approx(341 / 300 + 0.15)
    assert response_timeout_for(38400, adapter_margin_s=0.0) == pytest.approx(341 / 38400 + 0.05)
    assert frame_gap_for(2400, adapter_margin_s=0.0) == pytest.approx(33 / 2400)
    timeouts = [response_timeout_for(b) for b in BAUD_RATES]
    assert timeouts == sorted(timeouts, reverse=True)


def test_serial_port_opens_a_pty_as_8e1_with_derived_timeouts() -> None:
    with PtyBusServer(MBusBus([slave(1, primary=1)])) as server, SerialPort(server.port) as port:
        assert port.baudrate == 2400
        assert port._serial.parity == serial.PARITY_EVEN
        assert (port._serial.bytesize, port._serial.stopbits) == (8, 1)
        assert port.response_timeout_s == pytest.approx(0.292, abs=0.0005)
        port.set_baudrate(9600)
        assert port.response_timeout_s == pytest.approx(response_timeout_for(9600))
        assert port.endpoint == f"{server.port} at 9600 baud"


def test_serial_port_refuses_non_mbus_rates_and_missing_devices() -> None:
    with pytest.raises(ValueError, match="baudrate = 115200: M-Bus uses one of 300, 600"):
        SerialPort("/dev/null", 115200)
    with pytest.raises(TransportError, match="M-Bus serial /nonexistent/tty: cannot open"):
        SerialPort("/nonexistent/tty")


def test_read_at_each_mbus_rate(pty_bus: BusFactory) -> None:
    master, _ = pty_bus([slave(1, primary=1)])
    for baud in BAUD_RATES:
        master.stream.set_baudrate(baud)
        (frame,) = master.read(1)
        assert frame.a == 1
