"""Small real data for ledger, invoice and reconciliation tests: one property, tenants, units."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from api.ledger.service import ensure_ledger


@dataclass(frozen=True, slots=True)
class Estate:
    ledger_id: int
    property_id: int
    unit_ids: list[int]
    tenant_ids: list[int]


def seed_estate(conn: psycopg.Connection, tenants: list[str]) -> Estate:
    """A property with one unit per tenant name, each tenant living in its unit."""
    prop = conn.execute("INSERT INTO properties (code, name) VALUES ('P1', 'Lindenstr. 5') "
                        "RETURNING id").fetchone()
    assert prop is not None
    building = conn.execute("INSERT INTO buildings (property_id, code, name) "
                            "VALUES (%s, 'B1', 'Haus A') RETURNING id", (prop[0],)).fetchone()
    assert building is not None
    units, tenant_ids = [], []
    for n, name in enumerate(tenants, start=1):
        unit = conn.execute("INSERT INTO units (building_id, code, living_area_m2, "
                            "heated_area_m2) VALUES (%s, %s, 60, 60) RETURNING id",
                            (building[0], f"W{n:02d}")).fetchone()
        tenant = conn.execute("INSERT INTO tenants (name) VALUES (%s) RETURNING id",
                              (name,)).fetchone()
        assert unit is not None and tenant is not None
        conn.execute("INSERT INTO occupancies (unit_id, tenant_id, moved_in) "
                     "VALUES (%s, %s, '2025-01-01')", (unit[0], tenant[0]))
        units.append(int(unit[0]))
        tenant_ids.append(int(tenant[0]))
    ledger = ensure_ledger(conn, "P1", "Lindenstr. 5", int(prop[0]))
    return Estate(ledger, int(prop[0]), units, tenant_ids)
