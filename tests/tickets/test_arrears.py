"""The optional arrears flag asks the ledger: an overdue open invoice of the reporter's unit."""

from __future__ import annotations

from datetime import date

import psycopg

from api.invoices.service import InvoiceLine, create_credit_note, create_invoice
from api.ledger.service import ensure_ledger
from api.tickets import service
from api.tickets.arrears import ledger_arrears
from api.tickets.schemas import TicketCreate
from tests.tickets.conftest import World


def _tenant_in(conn: psycopg.Connection, unit_id: int, name: str) -> int:
    row = conn.execute("INSERT INTO tenants (name) VALUES (%s) RETURNING id", (name,)).fetchone()
    assert row is not None
    conn.execute("INSERT INTO occupancies (unit_id, tenant_id, moved_in) VALUES (%s, %s, %s)",
                 (unit_id, row[0], date(2025, 1, 1)))
    return int(row[0])


def test_overdue_open_invoice_flags_the_reporters_ticket_until_it_is_settled(
        world: World) -> None:
    conn, ids = world.conn, world.ids
    tina = _tenant_in(conn, ids["u1"], "Tina Tenant")
    _tenant_in(conn, ids["u2"], "Ned Neighbour")
    ledger = ensure_ledger(conn, code=f"arrears-{ids['p1']}", property_id=ids["p1"])
    invoice = create_invoice(
        conn, ledger_id=ledger, tenant_id=tina, property_id=ids["p1"], unit_id=ids["u1"],
        issued_on=date(2026, 9, 1), due_on=date(2026, 9, 15), currency="EUR",
        lines=[InvoiceLine("rent", 85_000)])
    tenant, neighbour = world.actors["tenant"], world.actors["neighbour"]
    on = date(2026, 10, 1)
    assert ledger_arrears(conn, tenant, ids["b1"], today=on) is True
    assert ledger_arrears(conn, neighbour, ids["b1"], today=on) is False
    assert ledger_arrears(conn, tenant, ids["b1"], today=date(2026, 9, 10)) is False  # not due
    assert ledger_arrears(conn, tenant, ids["b2"], today=on) is False  # another building

    conn.execute("INSERT INTO ticket_property_settings (property_id, arrears_flag_enabled) "
                 "VALUES (%s, true)", (ids["p1"],))
    data = TicketCreate(building_id=ids["b1"], title="Window does not close")
    flagged, _ = service.create_ticket(conn, tenant, data)  # the default asks the ledger
    assert flagged.status == "open"  # flagged, never refused
    assert service.get_ticket(conn, world.actors["manager"], flagged.id).arrears_flag is True

    create_credit_note(conn, invoice.id, 85_000, issued_on=date(2026, 9, 20), reason="waived")
    assert ledger_arrears(conn, tenant, ids["b1"], today=on) is False
    settled, _ = service.create_ticket(conn, tenant, data)
    assert service.get_ticket(conn, world.actors["manager"], settled.id).arrears_flag is False
