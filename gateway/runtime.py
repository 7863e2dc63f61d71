"""The gateway's main loop: pollers fill the buffer, one forwarder empties it upstream.

::

    bus coordinator ─┐                                    ┌─ PostgresUplink
    bus coordinator ─┼─ poll cycle ─▶ ReadingBuffer ─▶ forwarder ─┤
    bus coordinator ─┘  (scheduler)   (SQLite, WAL)   (backoff)   └─ (MQTT uplink)

* One poller per bus, on the scheduler's wall-clock grid; a cycle's readings
  are appended to the buffer in one durable transaction before anything else
  sees them.
* One forwarder leases the oldest batch, delivers it, and acks it only after
  the uplink returned (the server confirmed).  Failures wait with
  exponential backoff and full jitter; the readings stay buffered.
* ``reload`` (SIGHUP) stops the pollers after their current cycle and the
  forwarder after its current delivery, then starts them with the new
  settings; the buffer stays open, so nothing buffered is lost.  The buffer's
  path is fixed for the life of the process.
* ``stop`` (SIGTERM) stops polling after the current cycle, then drains: the
  forwarder keeps delivering until the buffer is empty or
  ``uplink.drain_seconds`` passed; what is left stays in the buffer file for
  the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from firmware_bridge.modbus_profile import load_profile
from gateway.backoff import Backoff
from gateway.buffer import ReadingBuffer
from gateway.config import BusSettings, GatewaySettings, SimulatedClockSettings
from gateway.errors import PollError, UplinkError
from gateway.metrics import GatewayMetrics, MetricsServer, render_prometheus, write_status
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from gateway.mqtt_uplink import BatchRejectedError
from gateway.reading import Reading
from gateway.scheduler import (
    GatewayClock,
    ScaledClock,
    ScheduleStats,
    SystemClock,
    next_tick,
    run_schedule,
)
from gateway.uplink import Uplink

log = logging.getLogger("meterbill.gateway")

__all__ = ["Gateway", "build_bus", "clock_from", "next_tick"]

def build_bus(settings: BusSettings) -> tuple[ModbusTcpBus, list[ModbusDevice]]:
    """Open nothing yet: load profiles and plan reads (errors surface before any I/O)."""
    bus = ModbusTcpBus(settings.name, settings.host, settings.port,
                       timeout_s=settings.timeout_seconds)
    devices = [ModbusDevice.create(d.serial, d.device_id, load_profile(d.profile), d.registers)
               for d in settings.devices]
    return bus, devices


def clock_from(settings: SimulatedClockSettings | None) -> GatewayClock:
    if settings is None:
        return SystemClock()
    return ScaledClock(settings.start, settings.speed, settings.anchor_unix_s)


UplinkFactory = Callable[[GatewaySettings], Uplink]


class Gateway:
    def __init__(self, settings: GatewaySettings, uplink_factory: UplinkFactory,
                 clock: GatewayClock | None = None) -> None:
        self.settings = settings
        self._uplink_factory = uplink_factory
        self.clock = clock or clock_from(settings.simulated_clock)
        self.buffer = ReadingBuffer(settings.buffer.path,
                                    max_readings=settings.buffer.max_readings,
                                    max_age_s=settings.buffer.max_age_days * 86400,
                                    gateway_id=settings.name)
        self.metrics = GatewayMetrics(settings.name, uplink_kind=settings.uplink.kind)
        self._data = asyncio.Event()  # set when the buffer got new readings
        self._draining = False
        self._stop: asyncio.Event | None = None
        self.fatal: BaseException | None = None
        self._schedules: list[ScheduleStats] = []  # of the running pollers
        self._missed_before = 0  # missed cycles of pollers stopped by a reload

    def _watch(self, task: asyncio.Task[None]) -> asyncio.Task[None]:
        """A poller or forwarder that dies of a bug stops the gateway (exit code 1), so a
        supervisor restarts it, instead of a gateway that silently stopped polling."""
        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None and self.fatal is None:
                self.fatal = t.exception()
                log.error("gateway task failed: %r", self.fatal, exc_info=self.fatal)
                if self._stop is not None:
                    self._stop.set()
        task.add_done_callback(done)
        return task

    # -- observability ---------------------------------------------------------
    def snapshot(self) -> dict:
        self.metrics.missed_cycles = self._missed_before + sum(
            s.missed_cycles for s in self._schedules)
        return self.metrics.snapshot(self.buffer.state(), self.clock.now())

    def write_status(self) -> None:
        write_status(self.settings.status_path(), self.snapshot())

    async def _status_loop(self) -> None:
        while True:
            try:
                self.write_status()
            except OSError as exc:
                log.warning("status file %s: %s", self.settings.status_path(), exc)
            await asyncio.sleep(self.settings.status.interval_seconds)

    # -- polling ---------------------------------------------------------------
    async def _cycle(self, bus: ModbusTcpBus, devices: list[ModbusDevice],
                     tick: datetime) -> None:
        readings: list[Reading] = []
        for device in devices:
            try:
                values = await bus.read(device)
            except PollError as exc:
                self.metrics.poll_errors[device.serial] = (
                    self.metrics.poll_errors.get(device.serial, 0) + 1)
                log.warning("poll failed: %s", exc)
                continue
            readings.extend(Reading(device.serial, name, tick, value)
                            for name, value in values.items())
        self.metrics.readings_polled += len(readings)
        if readings:
            dropped = self.buffer.append(readings, self.clock.now())
            self.metrics.readings_buffered += len(readings)
            if dropped:
                log.warning("buffer bound reached: dropped the %d oldest readings", dropped)
            self._data.set()

    async def _poll_bus(self, settings: BusSettings, stop: asyncio.Event) -> None:
        bus, devices = build_bus(settings)
        stats = ScheduleStats()
        self._schedules.append(stats)

        async def cycle(tick: datetime) -> None:
            await self._cycle(bus, devices, tick)
            self.metrics.cycles += 1

        try:
            await run_schedule(self.clock, settings.interval_seconds, stop, cycle, stats)
        finally:
            self._schedules.remove(stats)
            self._missed_before += stats.missed_cycles
            bus.close()

    # -- forwarding ------------------------------------------------------------
    async def _forward(self, uplink: Uplink, stop: asyncio.Event) -> None:
        """Deliver the oldest batch, ack it, repeat; failures wait with backoff.

        A batch the server rejects as it is (``BatchRejectedError``) is not
        retried for ever: its readings are sent again one at a time, and only
        those refused on their own are set aside (``ReadingBuffer.set_aside``).
        """
        up = self.settings.uplink
        backoff = Backoff(up.backoff_initial_seconds, up.backoff_max_seconds)
        singles = 0  # readings still to be sent one at a time after a rejected batch
        while not stop.is_set():
            lease = self.buffer.lease_batch(1 if singles else up.batch_size)
            if lease is None:
                if self._draining:
                    return
                self._data.clear()
                await _first_of(self._data, stop, timeout_s=1.0)
                continue
            self.metrics.inflight_batch = lease.batch.batch_id
            self.metrics.inflight_size = len(lease.batch.readings)
            self.metrics.uplink_state = "delivering"
            self.metrics.readings_sent += len(lease.batch.readings)
            try:
                await uplink.deliver(lease.batch)
            except BatchRejectedError as exc:
                self.metrics.delivery_failures += 1
                if len(lease.batch.readings) > 1:
                    self.buffer.release(lease)
                    singles = len(lease.batch.readings)
                    log.warning("%s; sending its readings one at a time", exc)
                else:
                    self.buffer.set_aside(lease, exc.reason, self.clock.now())
                    singles = max(0, singles - 1)
                    log.error("reading set aside (kept in the buffer's rejected table): %s "
                              "%s at %s: %s", lease.batch.readings[0].meter_serial,
                              lease.batch.readings[0].register,
                              lease.batch.readings[0].read_at.isoformat(), exc.reason)
                continue
            except UplinkError as exc:
                self.buffer.release(lease)
                self.metrics.delivery_failures += 1
                self.metrics.uplink_state = "down"
                self.metrics.last_uplink_error = str(exc)
                delay_s = backoff.next_delay_s()
                log.warning("%s; retrying in %.2f s", exc, delay_s)
                await _first_of(stop, timeout_s=delay_s)
                continue
            finally:
                self.metrics.inflight_batch = None
                self.metrics.inflight_size = 0
            self.buffer.ack(lease)
            singles = max(0, singles - 1)
            backoff.reset()
            self.metrics.readings_acknowledged += len(lease.batch.readings)
            self.metrics.batches_acknowledged += 1
            duplicates = getattr(getattr(uplink, "last_result", None), "duplicates", 0)
            self.metrics.readings_duplicate += duplicates or 0
            self.metrics.uplink_state = "up"
            self.metrics.last_uplink_error = None

    async def deliver_buffered(self, uplink: Uplink) -> None:
        """Deliver until the buffer is empty (no polling): a flush, and what tests drive."""
        self._draining = True
        try:
            await self._forward(uplink, asyncio.Event())
        finally:
            self._draining = False

    # -- lifecycle -------------------------------------------------------------
    async def serve(self, stop: asyncio.Event, reload: asyncio.Event,
                    reload_settings: Callable[[], GatewaySettings | None]) -> None:
        """Run until ``stop``; on ``reload`` ask ``reload_settings`` (None: keep the old)."""
        self._stop = stop
        server: MetricsServer | None = None
        if self.settings.metrics.port is not None:
            server = MetricsServer(lambda: render_prometheus(self.snapshot()),
                                   self.settings.metrics.host, self.settings.metrics.port)
            self.metrics.metrics_port = await server.start()
        status = asyncio.create_task(self._status_loop())
        uplink = self._uplink_factory(self.settings)
        try:
            while True:
                poll_stop, forward_stop = asyncio.Event(), asyncio.Event()
                pollers = [self._watch(asyncio.create_task(self._poll_bus(b, poll_stop)))
                           for b in self.settings.buses]
                forwarder = self._watch(asyncio.create_task(self._forward(uplink, forward_stop)))
                await _first_of(stop, reload)
                poll_stop.set()
                await asyncio.gather(*pollers, return_exceptions=True)
                if stop.is_set():
                    await self._drain(forwarder, forward_stop)
                    return
                forward_stop.set()
                await asyncio.gather(forwarder, return_exceptions=True)
                reload.clear()
                new = reload_settings()
                if new is None:
                    continue
                if new.buffer.path != self.settings.buffer.path:
                    log.warning("buffer.path changed: takes effect at the next start; "
                                "keeping %s", self.settings.buffer.path)
                if new.uplink != self.settings.uplink or new.name != self.settings.name:
                    await uplink.close()
                    uplink = self._uplink_factory(new)
                self.buffer.gateway_id = new.name
                self.buffer.max_readings = new.buffer.max_readings
                self.buffer.max_age_s = new.buffer.max_age_days * 86400
                self.settings = new.model_copy(update={"buffer": self.settings.buffer.model_copy(
                    update={"max_readings": new.buffer.max_readings,
                            "max_age_days": new.buffer.max_age_days})})
                self.metrics.config_generation += 1
                self.metrics.uplink_kind = new.uplink.kind
                log.info("configuration reloaded (generation %d)", self.metrics.config_generation)
        finally:
            await uplink.close()
            self.metrics.running = False
            status.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await status
            if server is not None:
                await server.stop()
            with contextlib.suppress(OSError):
                self.write_status()
            self.buffer.close()

    async def _drain(self, forwarder: asyncio.Task[None], forward_stop: asyncio.Event) -> None:
        self._draining = True
        self._data.set()
        try:
            await asyncio.wait_for(asyncio.shield(forwarder),
                                   timeout=self.settings.uplink.drain_seconds)
        except TimeoutError:
            forward_stop.set()
            forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarder
            log.warning("drain timed out: %d readings stay buffered for the next start",
                        self.buffer.state().depth)
        except Exception:  # recorded as fatal by _watch; the buffer keeps the readings
            pass


async def _first_of(*events: asyncio.Event, timeout_s: float | None = None) -> None:
    """Wait until any of ``events`` is set (or ``timeout_s`` passed)."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
