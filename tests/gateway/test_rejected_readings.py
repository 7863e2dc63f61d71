"""A reading the server refuses as it is is set aside, and never blocks the others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from gateway.config import GatewaySettings
from gateway.postgres_uplink import PostgresUplink
from gateway.reading import Reading
from gateway.runtime import Gateway
from tests.slice.building_fixture import registered_demo_building

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def settings(tmp_path: Path, dsn: str) -> GatewaySettings:
    return GatewaySettings.model_validate({
        "name": "gw-test",
        "uplink": {"dsn": dsn, "batch_size": 100},
        "buffer": {"path": str(tmp_path / "buffer.sqlite3")},
        "buses": [{"name": "b", "kind": "modbus_tcp", "host": "127.0.0.1", "devices": [
            {"serial": "S", "device_id": 1, "profile": "sdm630",
             "registers": ["energy_import_kwh"]}]}],
    })


def test_a_refused_reading_is_set_aside_and_the_rest_are_stored(
        tmp_path: Path, db_dsn: str) -> None:
    sim, _ = registered_demo_building(db_dsn, units=2)
    serial = sim.units[0].meter_serial
    good = [Reading(serial, "energy_import_kwh", T0 + timedelta(minutes=15 * i),
                    Decimal(100 + i)) for i in range(6)]
    # the readings table's check constraint refuses a register name like this one
    bad = Reading(sim.units[1].meter_serial, "Energy Import", T0, Decimal("2.5"))
    gateway = Gateway(settings(tmp_path, db_dsn), lambda s: PostgresUplink(db_dsn,
                                                                           gateway_id=s.name))
    gateway.buffer.append([*good[:3], bad, *good[3:]], T0)
    uplink = PostgresUplink(db_dsn, gateway_id="gw-test")

    async def main() -> None:
        try:
            await asyncio.wait_for(gateway.deliver_buffered(uplink), timeout=60)
        finally:
            await uplink.close()

    asyncio.run(main())
    state = gateway.buffer.state()
    assert (state.depth, state.rejected) == (0, 1)
    [(kept, reason)] = gateway.buffer.rejected()
    assert kept == bad and "check constraint" in reason
    snap = gateway.snapshot()
    assert snap["readings_rejected"] == 1 and snap["readings_acknowledged"] == len(good)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT m.serial, r.register, r.read_at, r.value FROM readings r "
                            "JOIN meters m ON m.id = r.meter_id ORDER BY r.read_at").fetchall()
    assert [Reading(*row) for row in rows] == good
    gateway.buffer.close()
