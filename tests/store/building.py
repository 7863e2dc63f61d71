"""A small building for the store tests: one property, one building, units and meters."""

from __future__ import annotations

import psycopg


def make_building(conn: psycopg.Connection, units: int = 2) -> tuple[int, list[int]]:
    """Returns (building id, unit ids)."""
    prop = conn.execute("INSERT INTO properties (code, name) VALUES ('P', 'store test')"
                        " RETURNING id").fetchone()
    assert prop is not None
    b = conn.execute("INSERT INTO buildings (property_id, code, name) VALUES (%s, 'B', 'B')"
                     " RETURNING id", (prop[0],)).fetchone()
    assert b is not None
    ids = []
    for i in range(units):
        u = conn.execute("INSERT INTO units (building_id, code, living_area_m2, heated_area_m2)"
                         " VALUES (%s, %s, 50, 50) RETURNING id", (b[0], f"U{i + 1}")).fetchone()
        assert u is not None
        ids.append(int(u[0]))
    return int(b[0]), ids


def add_meter(conn: psycopg.Connection, building_id: int, serial: str, unit_id: int | None,
              medium: str = "electricity", installed_on: str | None = None) -> int:
    row = conn.execute(
        """INSERT INTO meters (serial, medium, physical_unit, role, building_id, unit_id,
                               installed_on)
           VALUES (%s, %s, 'kWh', %s, %s, %s, %s) RETURNING id""",
        (serial, medium, "sub" if unit_id else "main", building_id, unit_id,
         installed_on)).fetchone()
    assert row is not None
    return int(row[0])


def add_readings(conn: psycopg.Connection, meter_id: int,
                 rows: list[tuple[str, str]], register: str = "energy_import_kwh") -> None:
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO readings (meter_id, register, read_at, value)"
                        " VALUES (%s, %s, %s, %s)",
                        [(meter_id, register, t, v) for t, v in rows])
