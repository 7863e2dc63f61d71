"""Invoices (from bills or recurring charges) and credit notes, each a ledger transaction.

An invoice debits the tenant's receivable (per tenant and unit) and credits the
property's income account of each cost item; a credit note books the opposite
for part or all of one invoice.  Every invoice carries an ISO 11649 creditor
reference ``RFcc<number>``: the bank passes it through unchanged (camt
``Strd/CdtrRefInf`` or the purpose text), so the matcher finds the invoice
exactly.  The check digits are ISO 7064 MOD 97-10 over the reference with
``RF`` and the digits moved to the end, as ISO 11649 clause 4 specifies.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from api.errors import ConflictError, InvalidRequestError, NotFoundError
from api.ledger.service import NewTransaction, Posting, ensure_account, post_transaction
from billing_core.largest_remainder import split_by_weights


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    cost_item: str
    amount_minor: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    number: str
    kind: str
    tenant_id: int
    unit_id: int | None
    property_id: int
    issued_on: date
    due_on: date
    currency: str
    total_minor: int
    creditor_reference: str
    transaction_id: int
    credits_invoice_id: int | None = None


def creditor_reference_for(number: str) -> str:
    """ISO 11649 reference for an invoice number: ``RE2026-0000123`` -> ``RF..RE20260000123``."""
    body = re.sub(r"[^A-Z0-9]", "", number.upper())
    if not 1 <= len(body) <= 21:
        raise InvalidRequestError(f"invoice number {number!r} cannot form an ISO 11649 "
                                  "reference (1 to 21 letters and digits)")
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.validate(reference)


def debtor_number(conn: psycopg.Connection, tenant_id: int) -> str:
    """The tenant's debtor number (``D000042``), assigned on first use."""
    number = f"D{tenant_id:06d}"
    conn.execute("INSERT INTO debtors (tenant_id, number) VALUES (%s, %s) "
                 "ON CONFLICT (tenant_id) DO NOTHING", (tenant_id, number))
    row = conn.execute("SELECT number FROM debtors WHERE tenant_id = %s",
                       (tenant_id,)).fetchone()
    assert row is not None
    return str(row[0])


def _row_to_invoice(row: Sequence[object]) -> Invoice:
    return Invoice(*row)  # type: ignore[arg-type]


_COLUMNS = ("id, number, kind, tenant_id, unit_id, property_id, issued_on, due_on, currency, "
            "total_minor, creditor_reference, transaction_id, credits_invoice_id")


def get_invoice(conn: psycopg.Connection, invoice_id: int) -> Invoice:
    row = conn.execute(f"SELECT {_COLUMNS} FROM invoices WHERE id = %s",
                       (invoice_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"invoice {invoice_id} does not exist")
    return _row_to_invoice(row)


def create_invoice(conn: psycopg.Connection, *, ledger_id: int, tenant_id: int,
                   property_id: int, unit_id: int | None, issued_on: date, due_on: date,
                   currency: str, lines: Sequence[InvoiceLine], source: str | None = None,
                   recurring_charge_id: int | None = None,
                   period_start: date | None = None) -> Invoice:
    """Number, book and store an invoice; all in one database transaction."""
    if not lines:
        raise InvalidRequestError("an invoice needs at least one line", field="lines")
    for i, line in enumerate(lines):
        if line.amount_minor <= 0:
            raise InvalidRequestError(f"lines[{i}].amount_minor must be positive",
                                      field=f"lines[{i}].amount_minor")
    if due_on < issued_on:
        raise InvalidRequestError("due_on is before issued_on", field="due_on")
    total = sum(line.amount_minor for line in lines)
    with conn.transaction():
        seq = conn.execute("SELECT nextval('invoice_number_seq')").fetchone()
        assert seq is not None
        number = f"RE{issued_on.year}-{int(seq[0]):07d}"
        reference = creditor_reference_for(number)
        receivable = ensure_account(conn, ledger_id, "receivable", tenant_id=tenant_id,
                                    unit_id=unit_id)
        postings = [Posting(receivable, total, currency)]
        for line in lines:
            income = ensure_account(conn, ledger_id, "income", property_id=property_id,
                                    cost_item=line.cost_item)
            postings.append(Posting(income, -line.amount_minor, currency))
        tx = post_transaction(conn, ledger_id, NewTransaction(
            booked_on=issued_on, kind="invoice", postings=postings,
            description=f"invoice {number}", reference=number))
        try:
            row = conn.execute(
                f"""INSERT INTO invoices (ledger_id, number, kind, tenant_id, unit_id,
                        property_id, issued_on, due_on, currency, total_minor,
                        creditor_reference, source, recurring_charge_id, period_start,
                        transaction_id)
                    VALUES (%s, %s, 'invoice', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    RETURNING {_COLUMNS}""",
                (ledger_id, number, tenant_id, unit_id, property_id, issued_on, due_on,
                 currency, total, reference, source, recurring_charge_id, period_start,
                 tx.id)).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise ConflictError(f"invoice already exists: {exc.diag.message_detail}") from exc
        assert row is not None
        invoice = _row_to_invoice(row)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO invoice_lines (invoice_id, line, cost_item, description, "
                "amount_minor) VALUES (%s, %s, %s, %s, %s)",
                [(invoice.id, n, line.cost_item, line.description, line.amount_minor)
                 for n, line in enumerate(lines, start=1)])
        debtor_number(conn, tenant_id)
    return invoice


def open_amount(conn: psycopg.Connection, invoice_id: int) -> int:
    """Total minus credit notes minus accepted payment matches (negative = overpaid)."""
    row = conn.execute(
        """SELECT i.total_minor
                  - coalesce((SELECT sum(c.total_minor) FROM invoices c
                               WHERE c.credits_invoice_id = i.id), 0)
                  - coalesce((SELECT sum(m.amount_minor) FROM payment_matches m
                               WHERE m.invoice_id = i.id
                                 AND m.status IN ('auto', 'confirmed')), 0)
             FROM invoices i WHERE i.id = %s""", (invoice_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"invoice {invoice_id} does not exist")
    return int(row[0])


def create_credit_note(conn: psycopg.Connection, invoice_id: int, amount_minor: int,
                       issued_on: date, reason: str) -> Invoice:
    """Credit part or all of an invoice: receivable credited, income debited pro rata.

    The income accounts are debited in proportion to the invoice lines with exact
    largest-remainder rounding, so the credit note adds up to the cent.
    """
    with conn.transaction():
        invoice = get_invoice(conn, invoice_id)
        if invoice.kind != "invoice":
            raise InvalidRequestError("only an invoice can be credited", field="invoice_id")
        credited = conn.execute(
            "SELECT coalesce(sum(total_minor), 0) FROM invoices WHERE credits_invoice_id = %s",
            (invoice_id,)).fetchone()
        remaining = invoice.total_minor - int(credited[0] if credited else 0)
        if not 0 < amount_minor <= remaining:
            raise InvalidRequestError(
                f"credit of {amount_minor} must be between 1 and the uncredited "
                f"{remaining} of invoice {invoice.number}", field="amount_minor")
        lines = conn.execute("SELECT line, cost_item, amount_minor FROM invoice_lines "
                             "WHERE invoice_id = %s ORDER BY line", (invoice_id,)).fetchall()
        shares = split_by_weights(amount_minor, [int(r[2]) for r in lines],
                                  [str(r[0]) for r in lines], item="credit note")
        share_by_line = dict(zip([str(r[0]) for r in lines], shares, strict=True))
        seq = conn.execute("SELECT nextval('invoice_number_seq')").fetchone()
        assert seq is not None
        number = f"GS{issued_on.year}-{int(seq[0]):07d}"
        ledger_id = _ledger_of(conn, invoice_id)
        receivable = ensure_account(conn, ledger_id, "receivable",
                                    tenant_id=invoice.tenant_id, unit_id=invoice.unit_id)
        postings = [Posting(receivable, -amount_minor, invoice.currency)]
        credit_lines = []
        for (line_no, cost_item, _amount) in lines:
            share = share_by_line[str(line_no)]
            if share == 0:
                continue
            income = ensure_account(conn, ledger_id, "income", property_id=invoice.property_id,
                                    cost_item=cost_item)
            postings.append(Posting(income, share, invoice.currency))
            credit_lines.append((cost_item, share))
        tx = post_transaction(conn, ledger_id, NewTransaction(
            booked_on=issued_on, kind="credit_note", postings=postings,
            description=f"credit note {number} for {invoice.number}: {reason}",
            reference=number))
        row = conn.execute(
            f"""INSERT INTO invoices (ledger_id, number, kind, credits_invoice_id, tenant_id,
                    unit_id, property_id, issued_on, due_on, currency, total_minor,
                    creditor_reference, source, transaction_id)
                VALUES (%s, %s, 'credit_note', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                RETURNING {_COLUMNS}""",
            (ledger_id, number, invoice_id, invoice.tenant_id, invoice.unit_id,
             invoice.property_id, issued_on, issued_on, invoice.currency, amount_minor,
             creditor_reference_for(number), f"credit:{reason}", tx.id)).fetchone()
        assert row is not None
        note = _row_to_invoice(row)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO invoice_lines (invoice_id, line, cost_item, description, "
                "amount_minor) VALUES (%s, %s, %s, %s, %s)",
                [(note.id, n, item, reason, share)
                 for n, (item, share) in enumerate(credit_lines, start=1)])
    return note


def _ledger_of(conn: psycopg.Connection, invoice_id: int) -> int:
    row = conn.execute("SELECT ledger_id FROM invoices WHERE id = %s", (invoice_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"invoice {invoice_id} does not exist")
    return int(row[0])


def add_recurring_charge(conn: psycopg.Connection, *, ledger_id: int, tenant_id: int,
                         property_id: int, unit_id: int | None, cost_item: str,
                         amount_minor: int, currency: str, valid_from: date,
                         valid_to: date | None = None, due_day: int = 3,
                         description: str = "") -> int:
    """Store a monthly charge (rent, heating prepayment, property fee); returns its id."""
    if amount_minor <= 0:
        raise InvalidRequestError("amount_minor must be positive", field="amount_minor")
    row = conn.execute(
        """INSERT INTO recurring_charges (ledger_id, tenant_id, unit_id, property_id, cost_item,
               description, amount_minor, currency, due_day, valid_from, valid_to)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (ledger_id, tenant_id, unit_id, property_id, cost_item, description or cost_item,
         amount_minor, currency, due_day, valid_from, valid_to)).fetchone()
    assert row is not None
    return int(row[0])


def invoice_recurring_charges(conn: psycopg.Connection, year: int, month: int,
                              issued_on: date | None = None) -> list[Invoice]:
    """Invoice every charge active in the month that has no invoice for it yet.

    Idempotent: ``UNIQUE (recurring_charge_id, period_start)`` makes a second run
    for the same month create nothing, so a scheduler may retry freely.
    """
    period_start = date(year, month, 1)
    period_end = date(year, month, calendar.monthrange(year, month)[1])
    charges = conn.execute(
        """SELECT c.id, c.ledger_id, c.tenant_id, c.unit_id, c.property_id, c.cost_item,
                  c.description, c.amount_minor, c.currency, c.due_day
             FROM recurring_charges c
            WHERE c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to >= %s)
              AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.recurring_charge_id = c.id
                                AND i.period_start = %s)
            ORDER BY c.id""", (period_end, period_start, period_start)).fetchall()
    created = []
    for (charge_id, ledger_id, tenant_id, unit_id, property_id, cost_item, description,
         amount, currency, due_day) in charges:
        created.append(create_invoice(
            conn, ledger_id=ledger_id, tenant_id=tenant_id, property_id=property_id,
            unit_id=unit_id, issued_on=issued_on or period_start,
            due_on=date(year, month, due_day), currency=currency,
            lines=[InvoiceLine(cost_item, int(amount),
                               f"{description} {period_start:%Y-%m}")],
            source=f"recurring:{charge_id}", recurring_charge_id=charge_id,
            period_start=period_start))
    return created
