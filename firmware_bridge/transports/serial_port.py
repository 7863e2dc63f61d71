"""Serial line for wired M-Bus (EN 13757-2), through pyserial.

M-Bus runs at 300..38400 baud, 8 data bits, even parity, 1 stop bit (8E1,
EN 13757-2 clause 5.1); 2400 baud is the usual default of installed meters.

Timeouts come from the baud rate, as in libmbus ``mbus-serial.c``:

* ``response_timeout_s``: EN 13757-2 lets a slave start its answer between
  11 bit times and 330 bit times + 50 ms after the master's frame; we add 11
  bit times for the first character to arrive and ``adapter_margin_s`` for a
  USB-serial adapter that buffers (libmbus allows 100 ms for that).
* ``frame_gap_s``: once a frame has started, characters follow without
  pauses (IEC 60870-5-1 FT 1.2); three character times plus the adapter
  margin of silence ends it, and an unfinished frame is then garbage.

Works on any path pyserial opens, including the slave side of a
pseudo-terminal, which is how the simulator in ``simulators/mbus_bus.py``
is driven in tests. Reads use ``select`` on the file descriptor (POSIX).
"""

from __future__ import annotations

import select

import serial

from firmware_bridge.errors import TransportError

BAUD_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400)
DEFAULT_BAUD_RATE = 2400
BITS_PER_CHARACTER = 11  # start + 8 data + even parity + stop
RESPONSE_BIT_TIMES = 330 + 11
RESPONSE_EXTRA_S = 0.050
DEFAULT_ADAPTER_MARGIN_S = 0.100


def response_timeout_for(
    baudrate: int, adapter_margin_s: float = DEFAULT_ADAPTER_MARGIN_S
) -> float:
    """Longest wait for the first byte of an answer (EN 13757-2 5.7)."""
    return RESPONSE_BIT_TIMES / baudrate + RESPONSE_EXTRA_S + adapter_margin_s


def frame_gap_for(baudrate: int, adapter_margin_s: float = DEFAULT_ADAPTER_MARGIN_S) -> float:
    """Silence inside a frame after which the frame is given up (3 characters)."""
    return 3 * BITS_PER_CHARACTER / baudrate + adapter_margin_s


def check_baudrate(baudrate: int) -> int:
    """Refuse rates M-Bus does not define (EN 13757-2 5.1: 300..38400)."""
    if baudrate not in BAUD_RATES:
        raise ValueError(
            f"baudrate = {baudrate!r}: M-Bus uses one of {', '.join(map(str, BAUD_RATES))}"
        )
    return baudrate


class SerialPort:
    """A serial M-Bus line: ``write`` a frame, ``read`` what comes back.

    ``response_timeout_s`` and ``frame_gap_s`` default to the values derived
    from the baud rate; pass them to override (tests on a pty use short ones).
    """

    def __init__(
        self,
        port: str,
        baudrate: int = DEFAULT_BAUD_RATE,
        *,
        parity: str = serial.PARITY_EVEN,
        adapter_margin_s: float = DEFAULT_ADAPTER_MARGIN_S,
        response_timeout_s: float | None = None,
        frame_gap_s: float | None = None,
    ) -> None:
        self.port = port
        self._baudrate = check_baudrate(baudrate)
        self._adapter_margin_s = adapter_margin_s
        self._response_override = response_timeout_s
        self._gap_override = frame_gap_s
        try:
            self._serial = serial.Serial(
                port,
                baudrate,
                bytesize=serial.EIGHTBITS,
                parity=parity,
                stopbits=serial.STOPBITS_ONE,
                timeout=0,
                write_timeout=None,
            )
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"M-Bus serial {port}: cannot open: {exc}") from exc

    @property
    def endpoint(self) -> str:
        """Where this transport talks, for error messages."""
        return f"{self.port} at {self._baudrate} baud"

    @property
    def baudrate(self) -> int:
        return self._baudrate

    @property
    def response_timeout_s(self) -> float:
        if self._response_override is not None:
            return self._response_override
        return response_timeout_for(self._baudrate, self._adapter_margin_s)

    @property
    def frame_gap_s(self) -> float:
        if self._gap_override is not None:
            return self._gap_override
        return frame_gap_for(self._baudrate, self._adapter_margin_s)

    def set_baudrate(self, baudrate: int) -> None:
        """Switch the line speed (after a CI B8h..BFh baud-rate change)."""
        self._baudrate = check_baudrate(baudrate)
        try:
            self._serial.baudrate = baudrate
        except (serial.SerialException, OSError) as exc:
            raise TransportError(
                f"M-Bus serial {self.endpoint}: cannot set baud rate: {exc}"
            ) from exc

    def write(self, data: bytes) -> None:
        """Send bytes and wait until they left the UART (like libmbus's tcdrain)."""
        try:
            self._serial.write(data)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"M-Bus serial {self.endpoint}: write failed: {exc}") from exc

    def read(self, timeout_s: float) -> bytes:
        """Bytes available within ``timeout_s``; ``b""`` when the line stayed silent."""
        try:
            ready, _, _ = select.select([self._serial.fileno()], [], [], max(timeout_s, 0.0))
            if not ready:
                return b""
            data = self._serial.read(self._serial.in_waiting or 1)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"M-Bus serial {self.endpoint}: read failed: {exc}") from exc
        return bytes(data)

    def discard_input(self) -> None:
        """Drop late answers still buffered before a new request."""
        try:
            self._serial.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"M-Bus serial {self.endpoint}: flush failed: {exc}") from exc

    def close(self) -> None:
        self._serial.close()

    def __enter__(self) -> SerialPort:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = [
    "BAUD_RATES",
    "DEFAULT_BAUD_RATE",
    "SerialPort",
    "check_baudrate",
    "frame_gap_for",
    "response_timeout_for",
]
