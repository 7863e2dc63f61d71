"""A dunning run: for every overdue open invoice, issue the next level that is due.

Each notice records the open amount, the level's fee and the interest up to the
notice date: § 288 BGB default interest, or, where the tenant's contract
(occupancy) has a ``late_fee_terms`` row, its daily late-fee rate (滞纳金) —
with ``debtor_kind = business`` the § 288 Abs. 2 rate and the 40 EUR flat fee
(once, with the first notice that charges it).  Fee and interest are booked
(receivable debited, fee/interest income credited) in one ledger transaction per
notice; ``UNIQUE (invoice_id, level)`` makes a repeated run issue nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from api.dunning.levels import DunningPolicy
from api.dunning.rates import default_interest, late_fee
from api.invoices.service import open_amount
from api.ledger.service import NewTransaction, Posting, ensure_account, post_transaction


@dataclass(slots=True)
class Notice:
    invoice_id: int
    number: str
    level: int
    level_name: str
    issued_on: date
    pay_by: date
    open_minor: int
    fee_minor: int
    interest_minor: int
    interest_basis: str


def _terms(conn: psycopg.Connection, tenant_id: int, unit_id: int | None,
           on: date) -> tuple[Decimal | None, str]:
    row = conn.execute(
        """SELECT t.daily_rate, t.debtor_kind FROM late_fee_terms t
             JOIN occupancies o ON o.id = t.occupancy_id
            WHERE o.tenant_id = %s AND (%s::bigint IS NULL OR o.unit_id = %s)
              AND o.moved_in <= %s AND (o.moved_out IS NULL OR o.moved_out >= %s)
            ORDER BY o.moved_in DESC LIMIT 1""",
        (tenant_id, unit_id, unit_id, on, on)).fetchone()
    if row is None:
        return None, "consumer"
    rate = Decimal(row[0]) if row[0] is not None and Decimal(row[0]) > 0 else None
    return rate, str(row[1])


def run_dunning(conn: psycopg.Connection, as_of: date,
                policy: DunningPolicy | None = None) -> list[Notice]:
    """Issue the notices due on ``as_of``; returns them (empty when nothing is due)."""
    policy = policy or DunningPolicy()
    notices: list[Notice] = []
    candidates = conn.execute(
        """SELECT i.id, i.number, i.ledger_id, i.tenant_id, i.unit_id, i.property_id,
                  i.due_on, i.currency, coalesce(max(d.level), 0)
             FROM invoices i LEFT JOIN dunning_notices d ON d.invoice_id = i.id
            WHERE i.kind = 'invoice' AND i.due_on < %s
            GROUP BY i.id ORDER BY i.due_on, i.id""", (as_of,)).fetchall()
    for (invoice_id, number, ledger_id, tenant_id, unit_id, property_id, due_on, currency,
         last_level) in candidates:
        open_minor = open_amount(conn, invoice_id)
        if open_minor < policy.min_open_minor:
            continue
        overdue_days = (as_of - due_on).days
        next_levels = [lv for lv in policy.levels
                       if lv.level > last_level and overdue_days >= lv.days_after_due]
        if not next_levels:
            continue
        # One level per run: a tenant first dunned late still gets the reminder first.
        level = next_levels[0]
        rate, debtor = _terms(conn, tenant_id, unit_id, as_of)
        flat_fee = 0
        if rate is not None:
            interest = late_fee(open_minor, due_on, as_of, rate)
            basis = f"contract late fee {rate} per day"
        else:
            result = default_interest(open_minor, due_on, as_of, debtor)
            interest = result.interest_minor
            basis = "§ 288 BGB: " + "; ".join(result.periods + result.warnings)
            if debtor == "business" and level.level == 1:
                flat_fee = result.flat_fee_minor
        already = conn.execute("SELECT coalesce(sum(interest_minor), 0) FROM dunning_notices "
                               "WHERE invoice_id = %s", (invoice_id,)).fetchone()
        interest_new = max(interest - int(already[0] if already else 0), 0)
        fee = level.fee_minor + flat_fee
        with conn.transaction():
            tx_id = None
            if fee or interest_new:
                receivable = ensure_account(conn, ledger_id, "receivable", tenant_id=tenant_id,
                                            unit_id=unit_id)
                postings = [Posting(receivable, fee + interest_new, currency)]
                if fee:
                    postings.append(Posting(ensure_account(
                        conn, ledger_id, "fees", property_id=property_id,
                        cost_item="dunning_fee"), -fee, currency))
                if interest_new:
                    postings.append(Posting(ensure_account(
                        conn, ledger_id, "fees", property_id=property_id,
                        cost_item="default_interest"), -interest_new, currency))
                tx_id = post_transaction(conn, ledger_id, NewTransaction(
                    booked_on=as_of, kind="dunning", postings=postings,
                    description=f"{level.name} for {number}", reference=number)).id
            pay_by = as_of + timedelta(days=level.pay_within_days)
            conn.execute(
                """INSERT INTO dunning_notices (invoice_id, level, level_name, issued_on, pay_by,
                       open_minor, fee_minor, interest_minor, transaction_id)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (invoice_id, level.level, level.name, as_of, pay_by, open_minor, fee,
                 interest_new, tx_id))
        notices.append(Notice(invoice_id, number, level.level, level.name, as_of, pay_by,
                              open_minor, fee, interest_new, basis))
    return notices
