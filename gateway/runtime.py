"""The gateway's main loop: poll every bus on its wall-clock grid, write readings upstream.

Polls are aligned to the interval (a 900 s interval polls at :00, :15 …); a
cycle that starts late keeps its scheduled timestamp, and cycles missed while
a previous one overran are counted, not queued up.  This slice writes straight
to PostgreSQL through the readings write contract; the store-and-forward
buffer comes with the gateway runtime issue.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from firmware_bridge.modbus_profile import load_profile
from gateway.config import BusSettings, GatewaySettings
from gateway.errors import UplinkError
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from gateway.poll_cycle import poll_once
from gateway.readings_writer import write_readings

log = logging.getLogger("meterbill.gateway")


def next_tick(now: datetime, interval_s: int) -> datetime:
    """The first grid instant strictly after ``now`` (grid anchored at midnight UTC)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    return midnight + timedelta(seconds=(int(elapsed // interval_s) + 1) * interval_s)


def build_bus(settings: BusSettings) -> tuple[ModbusTcpBus, list[ModbusDevice]]:
    """Open nothing yet: load profiles and plan reads (errors surface before any I/O)."""
    bus = ModbusTcpBus(settings.name, settings.host, settings.port,
                       timeout_s=settings.timeout_seconds)
    devices = [ModbusDevice.create(d.serial, d.device_id, load_profile(d.profile), d.registers)
               for d in settings.devices]
    return bus, devices


@dataclass(slots=True)
class GatewayStats:
    cycles: int = 0
    missed_cycles: int = 0
    readings_written: int = 0
    failed_reads: int = 0


async def run_bus(settings: BusSettings, dsn: str, stop: asyncio.Event,
                  stats: GatewayStats) -> None:
    bus, devices = build_bus(settings)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            tick = next_tick(datetime.now(UTC), settings.interval_seconds)
            while not stop.is_set():
                delay = (tick - datetime.now(UTC)).total_seconds()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                        break
                    except TimeoutError:
                        pass
                cycle = await poll_once([(bus, devices)], tick)
                stats.cycles += 1
                stats.failed_reads += len(cycle.failures)
                for failure in cycle.failures:
                    log.warning("poll failed: %s", failure)
                try:
                    stats.readings_written += write_readings(conn, cycle.readings).inserted
                except UplinkError as exc:
                    log.error("%s", exc)
                following = next_tick(datetime.now(UTC), settings.interval_seconds)
                skipped = round((following - tick).total_seconds() / settings.interval_seconds) - 1
                stats.missed_cycles += max(0, skipped)
                tick = following
    finally:
        bus.close()


async def run_gateway(settings: GatewaySettings, dsn: str, stop: asyncio.Event) -> GatewayStats:
    stats = GatewayStats()
    await asyncio.gather(*(run_bus(b, dsn, stop, stats) for b in settings.buses))
    return stats
