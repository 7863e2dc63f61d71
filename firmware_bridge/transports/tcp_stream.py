"""M-Bus over TCP: a serial-to-Ethernet converter in front of the bus.

The converter forwards the raw EN 13757-2 bytes both ways (transparent
mode, as libmbus ``mbus-tcp.c`` assumes), so framing and timing rules are
those of the serial bus behind it. The answer deadline is the bus's own
(:func:`~firmware_bridge.transports.serial_port.response_timeout_for` at the
bus baud rate) plus ``network_margin_s`` for the round trip and the
converter's buffering; a converter that packs bytes into TCP segments may
deliver a frame in pieces, which the frame gap tolerates.
"""

from __future__ import annotations

import select
import socket

from firmware_bridge.errors import TransportError
from firmware_bridge.transports.serial_port import (
    DEFAULT_BAUD_RATE,
    check_baudrate,
    frame_gap_for,
    response_timeout_for,
)

DEFAULT_NETWORK_MARGIN_S = 0.5
CONNECT_TIMEOUT_S = 5.0


class TcpStream:
    """A TCP connection to a transparent M-Bus converter."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        bus_baudrate: int = DEFAULT_BAUD_RATE,
        network_margin_s: float = DEFAULT_NETWORK_MARGIN_S,
        response_timeout_s: float | None = None,
        frame_gap_s: float | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self._bus_baudrate = check_baudrate(bus_baudrate)
        self._margin_s = network_margin_s
        self._response_override = response_timeout_s
        self._gap_override = frame_gap_s
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        except OSError as exc:
            raise TransportError(f"M-Bus TCP {host}:{port}: cannot connect: {exc}") from exc
        self._sock.setblocking(False)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def baudrate(self) -> int:
        return self._bus_baudrate

    @property
    def response_timeout_s(self) -> float:
        if self._response_override is not None:
            return self._response_override
        return response_timeout_for(self._bus_baudrate, self._margin_s)

    @property
    def frame_gap_s(self) -> float:
        if self._gap_override is not None:
            return self._gap_override
        return frame_gap_for(self._bus_baudrate, self._margin_s)

    def set_baudrate(self, baudrate: int) -> None:
        """Record the bus speed; the converter itself is reconfigured out of band."""
        self._bus_baudrate = check_baudrate(baudrate)

    def write(self, data: bytes) -> None:
        try:
            self._sock.setblocking(True)
            self._sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"M-Bus TCP {self.endpoint}: send failed: {exc}") from exc
        finally:
            self._sock.setblocking(False)

    def read(self, timeout_s: float) -> bytes:
        """Bytes available within ``timeout_s``; ``b""`` when nothing came."""
        try:
            ready, _, _ = select.select([self._sock], [], [], max(timeout_s, 0.0))
            if not ready:
                return b""
            data = self._sock.recv(4096)
        except OSError as exc:
            raise TransportError(f"M-Bus TCP {self.endpoint}: receive failed: {exc}") from exc
        if not data:
            raise TransportError(f"M-Bus TCP {self.endpoint}: connection closed by the peer")
        return data

    def discard_input(self) -> None:
        """Drop bytes already received (late answers) without waiting."""
        while True:
            try:
                if not self._sock.recv(4096):
                    return
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                raise TransportError(f"M-Bus TCP {self.endpoint}: receive failed: {exc}") from exc

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> TcpStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = ["TcpStream"]
