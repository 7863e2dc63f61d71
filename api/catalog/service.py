"""Registering a property's buildings, units and meters (idempotent by natural keys).

Used by the demo and by imports: running it twice with the same description
changes nothing, so a re-run demo reuses its building and its readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg


@dataclass(frozen=True, slots=True)
class UnitSpec:
    code: str
    name: str
    living_area_m2: Decimal
    heated_area_m2: Decimal
    persons: int
    meter_serial: str


@dataclass(frozen=True, slots=True)
class BuildingSpec:
    property_code: str
    property_name: str
    code: str
    name: str
    address: str
    time_zone: str
    units: tuple[UnitSpec, ...]
    main_meter_serial: str
    electricity_tariff_minor_per_kwh: Decimal
    tariff_valid_from: date


@dataclass(frozen=True, slots=True)
class RegisteredBuilding:
    property_id: int
    building_id: int
    unit_ids: dict[str, int]  # unit code -> id
    meter_ids: dict[str, int]  # serial -> id


def _one_id(cur: psycopg.Cursor, sql: str, params: tuple[object, ...]) -> int:
    row = cur.execute(sql, params).fetchone()
    assert row is not None, sql
    return int(row[0])


def register_building(conn: psycopg.Connection, spec: BuildingSpec) -> RegisteredBuilding:
    """Create or update the building, its units, meters and tariff; returns their ids."""
    with conn.transaction(), conn.cursor() as cur:
        property_id = _one_id(
            cur,
            """INSERT INTO properties (code, name) VALUES (%s, %s)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
            (spec.property_code, spec.property_name),
        )
        building_id = _one_id(
            cur,
            """INSERT INTO buildings (property_id, code, name, address, time_zone)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (property_id, code) DO UPDATE
                  SET name = EXCLUDED.name, address = EXCLUDED.address,
                      time_zone = EXCLUDED.time_zone
               RETURNING id""",
            (property_id, spec.code, spec.name, spec.address, spec.time_zone),
        )
        unit_ids: dict[str, int] = {}
        meter_ids: dict[str, int] = {}
        for unit in spec.units:
            unit_id = _one_id(
                cur,
                """INSERT INTO units (building_id, code, name, living_area_m2, heated_area_m2,
                                      persons)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (building_id, code) DO UPDATE
                      SET name = EXCLUDED.name, living_area_m2 = EXCLUDED.living_area_m2,
                          heated_area_m2 = EXCLUDED.heated_area_m2, persons = EXCLUDED.persons
                   RETURNING id""",
                (building_id, unit.code, unit.name, unit.living_area_m2, unit.heated_area_m2,
                 unit.persons),
            )
            unit_ids[unit.code] = unit_id
            meter_ids[unit.meter_serial] = _one_id(
                cur,
                """INSERT INTO meters (serial, medium, physical_unit, role, building_id, unit_id)
                   VALUES (%s, 'electricity', 'kWh', 'sub', %s, %s)
                   ON CONFLICT (serial) DO UPDATE SET unit_id = EXCLUDED.unit_id
                   RETURNING id""",
                (unit.meter_serial, building_id, unit_id),
            )
        meter_ids[spec.main_meter_serial] = _one_id(
            cur,
            """INSERT INTO meters (serial, medium, physical_unit, role, building_id)
               VALUES (%s, 'electricity', 'kWh', 'main', %s)
               ON CONFLICT (serial) DO UPDATE SET building_id = EXCLUDED.building_id
               RETURNING id""",
            (spec.main_meter_serial, building_id),
        )
        cur.execute(
            """INSERT INTO tariffs (building_id, medium, valid_from, price_minor_per_unit)
               VALUES (%s, 'electricity', %s, %s)
               ON CONFLICT (building_id, medium, valid_from) DO UPDATE
                  SET price_minor_per_unit = EXCLUDED.price_minor_per_unit""",
            (building_id, spec.tariff_valid_from, spec.electricity_tariff_minor_per_kwh),
        )
    return RegisteredBuilding(property_id, building_id, unit_ids, meter_ids)
