"""The rig of the gateway fault tests: counting meters, a PostgreSQL proxy we can cut, a process.

* ``CountingMeters``: simulated SDM630s on a real Modbus TCP socket.  Every
  successful read of a meter serves the next value of its counter
  (1000.5, 1001.0, … kWh: exact in float32) and records it, so the set of
  readings the simulators served is known exactly and independently of the
  (fast, simulated) clock.  A meter can be made to "disappear": it then
  answers like a Modbus TCP gateway whose RS-485 device is silent
  (exception 0x0B, gateway target failed to respond) and serves nothing.
* ``PgProxy``: a TCP proxy in front of PostgreSQL.  ``pass`` forwards;
  ``refuse`` closes every connection (the database is unreachable);
  ``blackhole`` forwards to the server but drops its replies;
  ``lose_commit_reply`` forwards until a client sends ``COMMIT``, then turns
  into ``blackhole``: the server commits and its confirmation never arrives
  (the worst moment for a gateway to die).
* ``GatewayProcess``: ``python -m meterbill gateway run --config …`` as a real
  subprocess on a fast simulated clock, read through its status file.

Both servers run on one asyncio loop in a background thread; the test thread
talks to them with ``run_coroutine_threadsafe``.  Waiting is by polling the
status file or the database with a deadline, never by sleeping for an event.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=UTC)
REG_ENERGY_IMPORT = 0x0048
INTERVAL_S = 60
SPEED = 600.0  # one 60 s cycle every 0.1 s of real time


def float32_words(value: float) -> tuple[int, int]:
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


@dataclass
class CountingMeters:
    serials: dict[int, str]  # device id -> meter serial
    served: list[tuple[str, Decimal]] = field(default_factory=list)
    absent: set[int] = field(default_factory=set)
    _counts: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def _action(self, device_id: int, function_code: int, start_address: int,
                      address: int, count: int, current_registers: list[int],
                      set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION
        if device_id in self.absent:
            return ExcCodes.GATEWAY_NO_RESPONSE
        with self._lock:
            n = self._counts.get(device_id, 0) + 1
            self._counts[device_id] = n
            value = 1000 + n / 2
            offset = REG_ENERGY_IMPORT - start_address
            current_registers[offset], current_registers[offset + 1] = float32_words(value)
            self.served.append((self.serials[device_id], Decimal(str(value))))
        return None

    def devices(self) -> list[SimDevice]:
        inputs = [SimData(0, count=0x0160, values=0, datatype=DataType.REGISTERS)]
        holding = [SimData(0, count=2, values=0, datatype=DataType.REGISTERS)]
        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]

        def action_for(device_id: int) -> Callable[..., Any]:
            async def action(*args: Any) -> ExcCodes | None:
                return await self._action(device_id, *args)
            return action

        return [SimDevice(d, simdata=(bits, bits, holding, inputs), action=action_for(d))
                for d in self.serials]

    def served_snapshot(self) -> list[tuple[str, Decimal]]:
        with self._lock:
            return list(self.served)


class PgProxy:
    def __init__(self, target: tuple[str, int] | str) -> None:
        self.target = target  # (host, port) or a Unix socket path
        self.mode = "pass"
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode == "refuse":
            for writer in list(self._writers):
                writer.close()

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self.target, str):
            return await asyncio.open_unix_connection(self.target)
        return await asyncio.open_connection(*self.target)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "refuse":
            writer.close()
            return
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       replies: bool) -> None:
            try:
                while data := await src.read(65536):
                    if self.mode == "refuse":
                        break
                    if replies and self.mode == "blackhole":
                        continue
                    dst.write(data)
                    await dst.drain()
                    if (not replies and self.mode == "lose_commit_reply"
                            and b"COMMIT\x00" in data):
                        self.mode = "blackhole"
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))
        self._writers.difference_update((writer, up_writer))


class Rig:
    """The meters and the proxy on a background event loop."""

    def __init__(self, serials: dict[int, str], db_dsn: str) -> None:
        self.meters = CountingMeters(serials)
        with psycopg.connect(db_dsn) as conn:
            host, port = conn.info.host, conn.info.port
        target: tuple[str, int] | str = (
            f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port))
        self.proxy = PgProxy(target)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._modbus: ModbusTcpServer | None = None

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def start(self) -> None:
        self._thread.start()

        async def start_all() -> None:
            self._modbus = ModbusTcpServer(self.meters.devices(), address=("127.0.0.1", 0))
            await self._modbus.serve_forever(background=True)
            sockets = self._modbus.transport.sockets  # type: ignore[union-attr]
            self.meters.port = int(sockets[0].getsockname()[1])
            await self.proxy.start()

        self.call(start_all())

    def set_proxy(self, mode: str) -> None:
        self.call(self.proxy.set_mode(mode))

    def stop(self) -> None:
        async def stop_all() -> None:
            if self._modbus is not None:
                await self._modbus.shutdown()
        try:
            self.call(stop_all())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)


_started: list[subprocess.Popen[bytes]] = []


@contextmanager
def rig(serials: dict[int, str], db_dsn: str) -> Iterator[Rig]:
    r = Rig(serials, db_dsn)
    r.start()
    try:
        yield r
    finally:
        while _started:  # a failed test must not leave its gateway running
            proc = _started.pop()
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        r.stop()


def write_config(path: Path, *, rig: Rig, db_dsn: str, serials: dict[int, str],
                 anchor_unix_s: float, max_readings: int = 100_000,
                 batch_size: int = 50, metrics_port: int | None = None,
                 mqtt: tuple[int, str] | None = None) -> Path:
    """A gateway.toml for the rig; ``mqtt=(port, prefix)`` selects the MQTT uplink."""
    dsn = psycopg.conninfo.make_conninfo(db_dsn, host="127.0.0.1", port=rig.proxy.port)
    if mqtt is None:
        uplink = f"dsn = '{dsn}'\n"
    else:
        uplink = (f"kind = 'mqtt'\n[uplink.mqtt]\nport = {mqtt[0]}\nprefix = '{mqtt[1]}'\n"
                  f"ack_timeout_seconds = 3\nreconnect_max_seconds = 0.5\n")
    devices = "".join(
        f"[[buses.devices]]\nserial = '{serial}'\ndevice_id = {device_id}\n"
        f"profile = 'sdm630'\nregisters = ['energy_import_kwh']\n"
        for device_id, serial in serials.items())
    metrics = f"[metrics]\nport = {metrics_port}\n" if metrics_port is not None else ""
    path.write_text(
        f"name = 'fault-test'\n"
        f"[uplink]\nbatch_size = {batch_size}\ntimeout_seconds = 10\n"
        f"backoff_initial_seconds = 0.05\nbackoff_max_seconds = 0.3\n{uplink}"
        f"[buffer]\npath = 'buffer.sqlite3'\nmax_readings = {max_readings}\n"
        f"[status]\npath = 'status.json'\ninterval_seconds = 0.05\n"
        f"{metrics}"
        f"[simulated_clock]\nstart = {T0.isoformat().replace('+00:00', 'Z')}\n"
        f"speed = {SPEED}\nanchor_unix_s = {anchor_unix_s}\n"
        f"[[buses]]\nname = 'house'\nkind = 'modbus_tcp'\nhost = '127.0.0.1'\n"
        f"port = {rig.meters.port}\ninterval_seconds = {INTERVAL_S}\ntimeout_seconds = 3\n"
        f"{devices}",
        encoding="utf-8")
    return path


class GatewayProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.status_path = config.parent / "status.json"
        self.log_path = config.parent / f"gateway-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meterbill", "gateway", "run", "--config", str(config)],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        _started.append(self.proc)

    def status(self) -> dict[str, Any] | None:
        try:
            snap = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return snap if snap.get("pid") == self.proc.pid else None

    def wait_status(self, predicate: Callable[[dict[str, Any]], bool], what: str,
                    timeout_s: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited ({self.proc.returncode}) waiting for "
                                     f"{what}:\n{self.log()}")
            snap = self.status()
            if snap is not None and predicate(snap):
                return snap
            time.sleep(0.02)  # polling interval of the deadline loop, not a wait for an event
        raise AssertionError(f"timed out waiting for {what}; last status {self.status()}\n"
                             f"{self.log()[-3000:]}")

    def terminate(self, timeout_s: float = 40.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        finally:
            self._log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._log.close()

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def stored_rows(db_dsn: str) -> list[tuple[str, datetime, Decimal]]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT m.serial, r.read_at, r.value FROM readings r JOIN meters m ON m.id = r.meter_id"
            " WHERE r.register = 'energy_import_kwh' ORDER BY m.serial, r.read_at").fetchall()


def assert_grid_consistent(rows: list[tuple[str, datetime, Decimal]]) -> None:
    """Per meter: timestamps on the grid, and later instants carry later counter values."""
    last: dict[str, tuple[datetime, Decimal]] = {}
    for serial, read_at, value in rows:
        assert read_at.timestamp() % INTERVAL_S == 0, (serial, read_at)
        if serial in last:
            prev_at, prev_value = last[serial]
            assert read_at > prev_at and value > prev_value, (serial, prev_at, read_at)
        last[serial] = (read_at, value)
