"""``meterbill demo``: a simulated building's month, from meter bytes to bills.

1. start the database (embedded unless ``METERBILL_DSN``) and migrate it;
2. register the simulated building (idempotent: a re-run reuses it);
3. serve its meters on a real Modbus TCP socket, with a clock the demo moves;
4. run the gateway's poll cycle against them for every interval of the month
   (a month of readings in seconds) and write through the COPY contract;
5. bill the month through the same service the API uses, print it;
6. serve the API on 127.0.0.1:8000 until Ctrl-C (``--once`` stops after printing).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.bills.schemas import BuildingBillPublic
from api.bills.service import building_bill
from api.catalog.service import BuildingSpec, RegisteredBuilding, UnitSpec, register_building
from api.db.migrate import migrate
from api.periods import Period, month_period
from firmware_bridge.modbus_profile import load_profile
from gateway.modbus_tcp_bus import ModbusDevice, ModbusTcpBus
from gateway.poll_cycle import poll_once
from gateway.reading import Reading
from gateway.readings_writer import write_readings
from meterbill.config import Settings
from simulators.building import SimBuilding, demo_building
from simulators.modbus_electricity_meter import ModbusMeterServer
from simulators.sim_clock import ManualClock

TIME_ZONE = "Europe/Berlin"
PROFILE = "sdm630"
REGISTERS = ("energy_import_kwh", "power_w")
WRITE_BATCH_CYCLES = 48
ITEM_LABELS = {"electricity_units": "own use", "electricity_common": "common (by m²)"}


@dataclass(frozen=True, slots=True)
class DemoRun:
    building: RegisteredBuilding
    period: Period
    readings_received: int
    readings_inserted: int
    failed_reads: int
    bill: BuildingBillPublic


def last_full_month(today: date) -> str:
    first = today.replace(day=1)
    prev = first - timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def building_spec(sim: SimBuilding, tariff: Decimal, valid_from: date) -> BuildingSpec:
    return BuildingSpec(
        property_code=sim.property_code, property_name="Demo property",
        code=sim.code, name=sim.name, address=sim.address, time_zone=TIME_ZONE,
        units=tuple(UnitSpec(u.code, u.name, u.living_area_m2, u.heated_area_m2, u.persons,
                             u.meter_serial) for u in sim.units),
        main_meter_serial=sim.main_meter_serial,
        electricity_tariff_minor_per_kwh=tariff, tariff_valid_from=valid_from,
    )


async def collect_month(sim: SimBuilding, period: Period, interval: timedelta, dsn: str,
                        progress: Progress | None) -> tuple[int, int, int]:
    """Poll the simulated meters at every interval of the period; returns counts."""
    clock = ManualClock(period.start)
    profile = load_profile(PROFILE)
    devices = [ModbusDevice.create(u.meter_serial, u.device_id, profile, REGISTERS)
               for u in sim.units]
    devices.append(ModbusDevice.create(sim.main_meter_serial, sim.main_device_id, profile,
                                       REGISTERS))
    steps = int((period.end - period.start) / interval) + 1
    task = progress.add_task("polling simulated meters", total=steps) if progress else None
    received = inserted = failures = 0
    async with ModbusMeterServer(sim.meter_models(), clock) as server:
        bus = ModbusTcpBus("demo", "127.0.0.1", server.port)
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                pending: list[Reading] = []
                for step in range(steps):
                    at = period.start + step * interval
                    clock.set(at)
                    cycle = await poll_once([(bus, devices)], at)
                    failures += len(cycle.failures)
                    pending.extend(cycle.readings)
                    if (step + 1) % WRITE_BATCH_CYCLES == 0 or step == steps - 1:
                        result = write_readings(conn, pending)
                        received += result.received
                        inserted += result.inserted
                        pending = []
                    if progress and task is not None:
                        progress.advance(task)
        finally:
            bus.close()
    return received, inserted, failures


def run_demo(settings: Settings, dsn: str, *, quiet: bool) -> DemoRun:
    demo = settings.demo
    month = demo.period or last_full_month(date.today())
    period = month_period(month, TIME_ZONE)
    migrate(dsn)
    sim = demo_building(units=demo.units, seed=demo.seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        registered = register_building(
            conn, building_spec(sim, demo.tariff_minor_per_kwh, period.start.date()))
    interval = timedelta(minutes=demo.interval_minutes)
    console = Console(stderr=True, quiet=quiet)
    with Progress(console=console, transient=True) as progress:
        received, inserted, failures = asyncio.run(
            collect_month(sim, period, interval, dsn, progress))
    with psycopg.connect(dsn, autocommit=True) as conn:
        bill = building_bill(conn, registered.building_id, period.start, period.end)
    return DemoRun(registered, period, received, inserted, failures, bill)


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def print_table(run: DemoRun) -> None:
    bill = run.bill
    console = Console()
    items = [c.item for c in bill.costs]
    table = Table(title=f"Electricity bills {run.period.label} — building {bill.building_id} "
                        f"({bill.currency}, {bill.tariff_minor_per_kwh} ct/kWh)")
    table.add_column("unit")
    table.add_column("kWh", justify="right")
    for item in items:
        table.add_column(ITEM_LABELS.get(item, item), justify="right")
    table.add_column("total", justify="right")
    for unit in bill.units:
        amounts = {line.item: line.amount_cents for line in unit.lines}
        table.add_row(unit.unit_code, f"{unit.consumption_kwh}",
                      *(money(amounts.get(i, 0)) for i in items), money(unit.total_cents))
    table.add_section()
    table.add_row("cost totals", f"{bill.main_meter_kwh} (main)",
                  *(money(c.total_cents) for c in bill.costs), money(bill.total_cents))
    console.print(table)
    console.print(f"readings: {run.readings_received} polled, {run.readings_inserted} new "
                  f"(re-runs add none), {run.failed_reads} failed reads")


def bill_json(run: DemoRun) -> str:
    payload = {
        "period": run.period.label,
        "readings": {"polled": run.readings_received, "inserted": run.readings_inserted,
                     "failed_reads": run.failed_reads},
        **run.bill.model_dump(mode="json"),
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def report(run: DemoRun, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(bill_json(run) + "\n")
    else:
        print_table(run)
