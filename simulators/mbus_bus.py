"""A simulated wired M-Bus: several slaves on one line, served over a pty or TCP.

Every slave hears every master frame (it is a bus). When exactly one answers,
its bytes go out as they are. When several answer at once, as after a
wildcard selection that matches more than one meter, their answers collide:
on M-Bus a slave signals a 0 bit ("space") by drawing extra current, so when
two transmit together any space wins and the line carries the bitwise AND of
their UART bit streams. Slaves never start at exactly the same instant, so
:func:`collide` shifts each next slave by a few bit times, ANDs the 11-bit
characters (start, 8 data, even parity, stop) and reads bytes back the way a
UART would. The master sees garbage or an E5 with trailing noise, which is
how a real master detects a collision (libmbus ``mbus_select_secondary_address``).

Two servers put the bus on real I/O so the master's own transports run:

* :class:`PtyBusServer`: ``os.openpty``; the master opens :attr:`port` (the
  slave side of the pty) with pyserial, the simulator reads and writes the
  pty's master side.
* :class:`TcpBusServer`: listens on ``127.0.0.1`` port 0 like a transparent
  serial-to-Ethernet converter; :attr:`address` gives host and port.

Both run one thread with a ``select`` loop; delayed (slow) answers are
scheduled, not slept, so other input is still read meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import os
import select
import signal
import socket
import sys
import threading
import time
import tty
from collections.abc import Sequence
from pathlib import Path

from firmware_bridge.codecs.mbus_encode import (
    DataField,
    DataRecord,
    FixedHeader,
    VariableDataTelegram,
)
from firmware_bridge.codecs.mbus_link import find_link_frame
from simulators.mbus_slave import MBusSlave, Reply, hex_file_bytes

BITS_SKEW_PER_SLAVE = 3


def _uart_bits(data: bytes) -> list[int]:
    bits: list[int] = []
    for byte in data:
        data_bits = [(byte >> i) & 1 for i in range(8)]
        bits += [0, *data_bits, sum(data_bits) & 1, 1]
    return bits


def collide(answers: Sequence[bytes], skew_bits: int = BITS_SKEW_PER_SLAVE) -> bytes:
    """What a UART reads when several slaves transmit at once (wired AND)."""
    streams = [[1] * (k * skew_bits) + _uart_bits(data) for k, data in enumerate(answers)]
    length = max(len(s) for s in streams)
    line = [min(s[i] if i < len(s) else 1 for s in streams) for i in range(length)]
    out = bytearray()
    i = 0
    while i < length:
        if line[i] == 0 and i + 8 < length:
            out.append(sum(bit << n for n, bit in enumerate(line[i + 1 : i + 9])))
            i += 11
        else:
            i += 1
    if any(bytes(out) == a for a in answers):
        # identical answers in lockstep would pass unnoticed; real ones never
        # are in lockstep, so keep the evidence of the second transmitter
        out.append(0x00)
    return bytes(out)


class MBusBus:
    """Slaves sharing one line: feed it master bytes, get the line's answer."""

    def __init__(self, slaves: Sequence[MBusSlave], *, echo: bool = False) -> None:
        self.slaves = list(slaves)
        # Some level converters hear their own transmission and hand the
        # master's frame back before the slave's answer (libmbus's
        # purge_first_frame option exists for them).
        self.echo = echo
        self.frames_heard = 0
        self.heard: list[bytes] = []  # raw master frames, oldest first (last 256)
        self.collisions = 0
        self.noise_bytes = 0

    def handle(self, frame: object) -> Reply | None:
        replies = [r for s in self.slaves if (r := s.handle(frame)) is not None]  # type: ignore[arg-type]
        self.frames_heard += 1
        if not replies:
            return None
        if len(replies) == 1:
            return replies[0]
        self.collisions += 1
        return Reply(collide([r.data for r in replies]), min(r.delay_s for r in replies))


class _Channel:
    """One byte stream into the bus with its own receive buffer."""

    def __init__(self, fd: int, sock: socket.socket | None = None) -> None:
        self.fd = fd
        self.sock = sock
        self.buffer = bytearray()

    def write(self, data: bytes) -> None:
        if self.sock is not None:
            self.sock.sendall(data)
        else:
            os.write(self.fd, data)


class _BusServer:
    """The select loop shared by the pty and TCP servers."""

    def __init__(self, bus: MBusBus) -> None:
        self.bus = bus
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._due: list[tuple[float, int, _Channel, bytes]] = []
        self._seq = 0
        self.error: BaseException | None = None

    def _channels(self) -> list[_Channel]:
        raise NotImplementedError

    def _on_readable(self, fd: int) -> None:
        raise NotImplementedError

    def _feed(self, channel: _Channel, data: bytes) -> None:
        channel.buffer += data
        while channel.buffer:
            frame, used = find_link_frame(channel.buffer)
            if frame is None and used == 0:
                return
            raw = bytes(channel.buffer[:used])
            del channel.buffer[:used]
            if frame is None:
                self.bus.noise_bytes += used
                continue
            self.bus.heard.append(raw)
            del self.bus.heard[:-256]
            if self.bus.echo:
                channel.write(raw)
            reply = self.bus.handle(frame)
            if reply is not None:
                self._seq += 1
                heapq.heappush(
                    self._due, (time.monotonic() + reply.delay_s, self._seq, channel, reply.data)
                )

    def _run(self) -> None:
        try:
            while not self._stop:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    _, _, channel, data = heapq.heappop(self._due)
                    with contextlib.suppress(OSError):
                        channel.write(data)
                timeout = max(self._due[0][0] - now, 0.0) if self._due else None
                fds = [self._wake_r, *self._extra_fds(), *(c.fd for c in self._channels())]
                readable, _, _ = select.select(fds, [], [], timeout)
                for fd in readable:
                    if fd == self._wake_r:
                        os.read(self._wake_r, 64)
                    else:
                        self._on_readable(fd)
        except BaseException as exc:  # surfaced by stop() so a test sees it
            self.error = exc

    def _extra_fds(self) -> list[int]:
        return []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._close()
        if self.error is not None:
            raise RuntimeError(f"{type(self).__name__} loop failed") from self.error

    def _close(self) -> None:
        raise NotImplementedError


class PtyBusServer(_BusServer):
    """The bus behind a pseudo-terminal; open :attr:`port` with pyserial."""

    def __init__(self, bus: MBusBus) -> None:
        super().__init__(bus)
        self._master_fd, self._slave_fd = os.openpty()
        # Raw before anyone opens it: no echo, no CR/LF translation of binary.
        tty.setraw(self._slave_fd)
        self.port = os.ttyname(self._slave_fd)
        self._channel = _Channel(self._master_fd)

    def _channels(self) -> list[_Channel]:
        return [self._channel]

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO while no one has the slave side open
            return
        if data:
            self._feed(self._channel, data)

    def _close(self) -> None:
        os.close(self._master_fd)
        os.close(self._slave_fd)

    def __enter__(self) -> PtyBusServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class TcpBusServer(_BusServer):
    """The bus behind a TCP listener, as a transparent M-Bus/Ethernet converter."""

    def __init__(self, bus: MBusBus, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(bus)
        self._listener = socket.create_server((host, port))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._clients: dict[int, _Channel] = {}

    def _extra_fds(self) -> list[int]:
        return [self._listener.fileno()]

    def _channels(self) -> list[_Channel]:
        return list(self._clients.values())

    def _on_readable(self, fd: int) -> None:
        if fd == self._listener.fileno():
            sock, _ = self._listener.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._clients[sock.fileno()] = _Channel(sock.fileno(), sock)
            return
        channel = self._clients[fd]
        try:
            data = channel.sock.recv(4096) if channel.sock is not None else b""
        except OSError:
            data = b""
        if not data:
            del self._clients[fd]
            if channel.sock is not None:
                channel.sock.close()
            return
        self._feed(channel, data)

    def _close(self) -> None:
        for channel in self._clients.values():
            if channel.sock is not None:
                channel.sock.close()
        self._listener.close()

    def __enter__(self) -> TcpBusServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def demo_slaves(count: int) -> list[MBusSlave]:
    """``count`` water meters at primary addresses 1.., IDs 10000001.. (heat-cost demo)."""
    return [
        MBusSlave.from_encoded(
            [
                VariableDataTelegram(
                    FixedHeader(10_000_000 + n, "ABC", 1, 0x07, access_no=n),
                    (DataRecord(DataField.BCD8, 0x13, 1000 * n),),  # volume, litres
                )
            ],
            primary_address=n,
        )
        for n in range(1, count + 1)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simulators.mbus_bus [--tcp PORT] [--demo N] [VECTOR.hex ...]``.

    Serves a bus until SIGINT/SIGTERM. Each vector file becomes one slave at
    the primary address in its A field; ``--demo`` adds encoder-built water
    meters. The first line printed says where to connect: ``pty /dev/pts/N``
    or ``tcp HOST:PORT``.
    """
    parser = argparse.ArgumentParser(prog="python -m simulators.mbus_bus")
    parser.add_argument("vectors", nargs="*", type=Path, help="libmbus .hex telegrams")
    parser.add_argument("--tcp", type=int, default=None, help="serve on this TCP port (0 = any)")
    parser.add_argument("--demo", type=int, default=0, help="add N encoder-built meters")
    args = parser.parse_args(argv)
    slaves = [
        MBusSlave.from_hex_files([path], primary_address=hex_file_bytes(path)[5])
        for path in args.vectors
    ] + demo_slaves(args.demo)
    if not slaves:
        parser.error("give vector files or --demo N")
    bus = MBusBus(slaves)
    server: _BusServer
    if args.tcp is None:
        server = PtyBusServer(bus)
        where = f"pty {server.port}"
    else:
        server = TcpBusServer(bus, port=args.tcp)
        where = f"tcp {server.address[0]}:{server.address[1]}"
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(where, flush=True)
    for slave in slaves:
        print(f"  primary {slave.primary_address:3d}  secondary {slave.secondary_address}",
              flush=True)
    stop.wait()
    server.stop()
    return 0


__all__ = ["MBusBus", "PtyBusServer", "TcpBusServer", "collide", "demo_slaves", "main"]

if __name__ == "__main__":
    sys.exit(main())
