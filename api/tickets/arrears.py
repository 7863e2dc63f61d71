"""Is a ticket's reporter in arrears? Asked of the ledger, for the optional flag rule.

A reporter is in arrears when an invoice of a tenant who currently occupies one
of the reporter's units in that building is past its due date and still has an
open amount (total minus credit notes minus accepted payment matches, as
``api.invoices.service.open_amount`` computes it).  The answer only ever flags
a ticket for the manager; a ticket is never refused for it (issue 11).
"""

from __future__ import annotations

from datetime import date

import psycopg

from api.invoices.service import open_amount
from api.tickets.actor import Actor

RESIDENT_ROLES = frozenset({"tenant", "owner"})


def ledger_arrears(conn: psycopg.Connection, actor: Actor, building_id: int,
                   *, today: date | None = None) -> bool:
    unit_ids = [g.scope_id for g in actor.grants
                if g.role in RESIDENT_ROLES and g.scope_kind == "unit" and g.scope_id is not None]
    if not unit_ids:
        return False
    on = today or date.today()
    overdue = conn.execute(
        """SELECT i.id FROM invoices i
             JOIN units u ON u.id = i.unit_id
             JOIN occupancies o ON o.unit_id = i.unit_id AND o.tenant_id = i.tenant_id
            WHERE i.kind = 'invoice' AND i.unit_id = ANY(%s) AND u.building_id = %s
              AND i.due_on < %s
              AND o.moved_in <= %s AND (o.moved_out IS NULL OR o.moved_out >= %s)""",
        (unit_ids, building_id, on, on, on)).fetchall()
    return any(open_amount(conn, int(row[0])) > 0 for row in overdue)
