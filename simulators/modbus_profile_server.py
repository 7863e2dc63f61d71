"""A Modbus server generated from a profile file, over TCP and RTU on a pty.

Each device id maps to a profile and a scenario; the register image comes
from the profile's own encoder (``DeviceProfile.register_image``), so what a
client decodes is exactly what the profile says the device means.  The
responder is small and our own rather than pymodbus's server because the
tests need what a real RS-485 line shows: the arrival and answer time of every
frame (to prove the gateway never interleaves requests) and faults a healthy
server never makes (exception, silence, garbled CRC).

Frames follow Modbus Application Protocol V1.1b3 §6.3/§6.4 (FC 03/04),
MBAP framing per Modbus Messaging on TCP/IP V1.0b §3.1.3 and RTU framing
with CRC-16 per Modbus over Serial Line V1.02 §2.5.1.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
import tty
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from firmware_bridge.modbus_profile import DeviceProfile

Scenario = Callable[[float], Mapping[str, Decimal]]
"""Seconds since the server started -> register values at that moment."""


def constant(values: Mapping[str, Decimal]) -> Scenario:
    """Values that never change."""
    frozen = dict(values)
    return lambda _t_s: frozen


def step(before: Mapping[str, Decimal], after: Mapping[str, Decimal], at_s: float) -> Scenario:
    """``before`` until ``at_s`` seconds, then ``after`` (a load switching on)."""
    first, second = dict(before), dict(after)
    return lambda t_s: first if t_s < at_s else second


def load_curve(base: Mapping[str, Decimal], energy: Mapping[str, Decimal],
               power_kw: Callable[[float], Decimal]) -> Scenario:
    """``base`` plus energy registers that only grow by the curve's power.

    ``energy`` maps an energy register to its reading at t=0 in kWh; the
    integral is a left Riemann sum in whole seconds so it is monotonic and
    exact in Decimal (a meter's register never runs backwards).
    """
    start = dict(energy)

    def values(t_s: float) -> Mapping[str, Decimal]:
        added_kwh = sum((power_kw(float(s)) for s in range(int(t_s))), Decimal(0)) / 3600
        out = dict(base)
        for name, kwh in start.items():
            out[name] = (kwh + added_kwh).quantize(Decimal("0.001"))
        return out
    return values


class Fault(Enum):
    """What a device does wrong on purpose."""

    NONE = "none"
    EXCEPTION = "exception"      # answers exception 04 (server device failure)
    TIMEOUT = "timeout"          # never answers
    GARBLED_CRC = "garbled_crc"  # answers, with the CRC's bytes flipped (RTU only)


@dataclass
class SimulatedDevice:
    """One device id on the simulated line."""

    profile: DeviceProfile
    scenario: Scenario
    fault: Fault = Fault.NONE
    answer_delay_s: float = 0.0  # turnaround time of a real device (RTU only)


@dataclass(frozen=True, slots=True)
class FrameLog:
    """One request as the line saw it: when it arrived, when the answer left."""

    device_id: int
    arrived_s: float
    answered_s: float | None


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF), Serial Line V1.02 §6.2.2."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass
class ModbusProfileServer:
    """Answers FC 03/04 for its devices; records every request."""

    devices: dict[int, SimulatedDevice]
    log: list[FrameLog] = field(default_factory=list)
    _t0: float = field(default_factory=time.monotonic)

    def pdu_answer(self, device_id: int, pdu: bytes) -> bytes | None:
        """The response PDU for ``pdu``, or None for silence (§4.1: no answer)."""
        device = self.devices.get(device_id)
        if device is None or device.fault is Fault.TIMEOUT:
            return None
        fc = pdu[0]
        if device.fault is Fault.EXCEPTION:
            return bytes([fc | 0x80, 0x04])
        if fc not in (3, 4) or len(pdu) < 5:
            return bytes([fc | 0x80, 0x01])  # illegal function
        address, count = struct.unpack(">HH", pdu[1:5])
        if not 1 <= count <= 125:
            return bytes([fc | 0x80, 0x03])  # illegal data value, §6.3
        values = device.scenario(time.monotonic() - self._t0)
        space = device.profile.register_image(values)[fc]
        words = [space.get(a, 0) for a in range(address, address + count)]
        return bytes([fc, 2 * count]) + struct.pack(f">{count}H", *words)

    # ------------------------------------------------------------------ TCP
    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        """Start an MBAP server; the bound port is ``server.sockets[0].getsockname()[1]``."""
        return await asyncio.start_server(self._tcp_client, host, port)

    async def _tcp_client(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                tid, _pid, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                entry_s = time.monotonic()
                answer = self.pdu_answer(unit, pdu)
                if answer is None:
                    self.log.append(FrameLog(unit, entry_s, None))
                    continue
                writer.write(struct.pack(">HHHB", tid, 0, len(answer) + 1, unit) + answer)
                self.log.append(FrameLog(unit, entry_s, time.monotonic()))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    # ------------------------------------------------------------------ RTU
    def serve_rtu_pty(self) -> RtuPty:
        """Open a pty; clients use ``.path`` as their serial port."""
        return RtuPty(self)


class RtuPty:
    """RTU responder on the master side of a pseudo-terminal.

    Requests for FC 01-06 are 8 bytes (address, PDU of 5, CRC); that is all a
    meter poller sends, so frames are cut at 8 bytes rather than by silence,
    which a pty cannot show.
    """

    def __init__(self, server: ModbusProfileServer) -> None:
        self.server = server
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation of binary frames
        self.path = os.ttyname(self._slave)
        self._buffer = bytearray()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self._master, 4096)
        except OSError:
            return
        arrived_s = time.monotonic()  # every frame in this chunk was on the wire by now
        self._buffer += chunk
        while len(self._buffer) >= 8:
            frame, self._buffer = bytes(self._buffer[:8]), self._buffer[8:]
            if crc16(frame[:6]) != int.from_bytes(frame[6:8], "little"):
                self._buffer.clear()  # §2.5.1.2: a bad frame is discarded
                continue
            device_id = frame[0]
            answer = self.server.pdu_answer(device_id, frame[1:6])
            if answer is None:
                self.server.log.append(FrameLog(device_id, arrived_s, None))
                continue
            body = bytes([device_id]) + answer
            crc = crc16(body)
            device = self.server.devices[device_id]
            if device.fault is Fault.GARBLED_CRC:
                crc ^= 0xFFFF
            payload = body + crc.to_bytes(2, "little")
            if device.answer_delay_s > 0:
                self._loop.call_later(device.answer_delay_s, self._answer,
                                      device_id, arrived_s, payload)
            else:
                self._answer(device_id, arrived_s, payload)

    def _answer(self, device_id: int, arrived_s: float, payload: bytes) -> None:
        try:
            os.write(self._master, payload)
        except OSError:
            return
        self.server.log.append(FrameLog(device_id, arrived_s, time.monotonic()))

    def close(self) -> None:
        self._loop.remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)
