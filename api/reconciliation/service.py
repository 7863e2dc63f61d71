"""Reconciliation against the database: run the matcher, book, review, learn.

A run loads the open invoices and the bank entries without an accepted match,
matches them in memory (:mod:`api.reconciliation.matcher`), and writes one
``payment_matches`` row per allocation.  Auto matches are booked at once as one
ledger transaction per bank entry (debit the bank account, credit the tenant's
receivable; a return the other way round, bank fees to an expense account);
suggestions wait in the review queue until a manager confirms or overrides
them, which books them and teaches the payer's IBAN -> tenant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg.types.json import Jsonb
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from api.errors import ConflictError, InvalidRequestError, NotFoundError
from api.ledger.service import NewTransaction, Posting, ensure_account, post_transactions
from api.reconciliation.matcher import (
    Allocation,
    Anomaly,
    Match,
    Matcher,
    MatchSettings,
    OpenInvoice,
    Payment,
)

ACCEPTED = ("auto", "confirmed")


def valid_iban(value: str | None) -> str | None:
    """The compact IBAN when ``value`` is a valid one (schwifty: country format and
    ISO 7064 check digits), else ``None`` (wallets and old account numbers)."""
    if not value:
        return None
    try:
        return str(IBAN(value).compact)
    except SchwiftyException:
        return None


@dataclass(slots=True)
class RunSummary:
    payments: int
    auto: int
    suggested: int
    unmatched: int
    anomalies: int


def _open_invoices(conn: psycopg.Connection) -> list[OpenInvoice]:
    rows = conn.execute(
        """SELECT i.id, i.number, i.tenant_id, i.currency, i.due_on, i.creditor_reference,
                  i.total_minor
                  - coalesce(c.credited, 0) - coalesce(m.paid, 0) AS open_minor,
                  i.total_minor - coalesce(c.credited, 0) AS total
             FROM invoices i
             LEFT JOIN (SELECT credits_invoice_id, sum(total_minor) AS credited FROM invoices
                         WHERE kind = 'credit_note' GROUP BY 1) c ON c.credits_invoice_id = i.id
             LEFT JOIN (SELECT invoice_id, sum(amount_minor) AS paid FROM payment_matches
                         WHERE status IN ('auto', 'confirmed') GROUP BY 1) m
                    ON m.invoice_id = i.id
            WHERE i.kind = 'invoice'""").fetchall()
    return [OpenInvoice(int(r[0]), r[1], int(r[2]), int(r[6]), r[3], r[4], r[5], int(r[7]))
            for r in rows]


_PAYMENT_COLUMNS = """e.id, e.amount_minor, e.currency, e.credit_debit, e.booking_date,
    e.counterparty_name, e.counterparty_account, e.remittance, e.creditor_reference,
    e.end_to_end_id, e.mandate_id, e.reversal, e.return_reason, e.charges_minor"""


def _payment(row: tuple) -> Payment:  # type: ignore[type-arg]
    return Payment(int(row[0]), int(row[1]), row[2], row[3], row[4], row[5], row[6], row[7],
                   row[8], row[9], row[10], bool(row[11]), row[12],
                   None if row[13] is None else int(row[13]))


def _matcher(conn: psycopg.Connection, settings: MatchSettings) -> Matcher:
    names = {int(t): n for t, n in conn.execute("SELECT id, name FROM tenants").fetchall()}
    debtors = {n: int(t) for t, n in conn.execute(
        "SELECT tenant_id, number FROM debtors").fetchall()}
    ibans: dict[str, set[int]] = defaultdict(set)
    for iban, tenant in conn.execute("SELECT iban, tenant_id FROM payer_accounts UNION "
                                     "SELECT iban, tenant_id FROM mandates").fetchall():
        compact = valid_iban(iban)
        if compact:
            ibans[compact].add(int(tenant))
    previous: dict[int, tuple[Payment, list[Allocation]]] = {}
    for row in conn.execute(
            f"""SELECT {_PAYMENT_COLUMNS}, m.invoice_id, m.tenant_id, m.amount_minor
                  FROM bank_entries e JOIN payment_matches m ON m.bank_entry_id = e.id
                 WHERE m.status IN ('auto', 'confirmed') AND e.credit_debit = 'CRDT'
                   AND NOT e.reversal ORDER BY e.id, m.id""").fetchall():
        entry_id = int(row[0])
        if entry_id not in previous:
            previous[entry_id] = (_payment(row[:14]), [])
        previous[entry_id][1].append(Allocation(row[14], row[15], int(row[16])))
    return Matcher(_open_invoices(conn), names, debtors, ibans, settings,
                   previous_credits=previous.values())


def run_reconciliation(conn: psycopg.Connection, settings: MatchSettings | None = None,
                       ledger_code: str = "main") -> RunSummary:
    """Match every bank entry without an accepted match; book the auto matches."""
    settings = settings or MatchSettings(as_of=date.today())
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('meterbill:reconcile'))")
        matcher = _matcher(conn, settings)
        payments = [_payment(r) for r in conn.execute(
            f"""SELECT {_PAYMENT_COLUMNS} FROM bank_entries e
                 WHERE NOT EXISTS (SELECT 1 FROM payment_matches m WHERE m.bank_entry_id = e.id
                                     AND m.status IN ('auto', 'confirmed', 'suggested'))
                 ORDER BY e.booking_date, e.id""").fetchall()]
        result = matcher.run(payments)
        by_id = {p.id: p for p in payments}
        _store(conn, [(by_id[m.payment_id], m) for m in result.matches], ledger_code)
        conn.execute("DELETE FROM reconciliation_anomalies")
        _store_anomalies(conn, result.anomalies)
    auto = sum(1 for m in result.matches if m.status == "auto")
    return RunSummary(len(payments), auto, len(result.matches) - auto, len(result.unmatched),
                      len(result.anomalies))


def _store_anomalies(conn: psycopg.Connection, anomalies: list[Anomaly]) -> None:
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO reconciliation_anomalies (kind, reason, bank_entry_id, "
                        "invoice_id, tenant_id) VALUES (%s, %s, %s, %s, %s)",
                        [(a.kind, a.reason, a.payment_id, a.invoice_id, a.tenant_id)
                         for a in anomalies])


def _store(conn: psycopg.Connection, matches: list[tuple[Payment, Match]],
           ledger_code: str, decided_by: str | None = None) -> None:
    """Rows per allocation; accepted matches booked in one batch of ledger transactions."""
    from api.ledger.service import ensure_ledger

    ledger_id = ensure_ledger(conn, ledger_code)
    accepted = [(p, m) for p, m in matches if m.status in ACCEPTED and m.allocations]
    tx_ids = _book(conn, ledger_id, accepted)
    rows = []
    for payment, match in matches:
        tx_id = tx_ids.get(payment.id)
        allocations = match.allocations or [Allocation(None, None, 0)]
        for a in allocations:
            rows.append((payment.id, a.invoice_id, a.tenant_id, a.amount_minor, match.rule,
                         match.confidence, match.status, tx_id, Jsonb(match.suggestions),
                         decided_by))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO payment_matches (bank_entry_id, invoice_id, tenant_id, amount_minor,
                   rule, confidence, status, transaction_id, suggestions, decided_by,
                   decided_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                       CASE WHEN %s::text IS NULL THEN NULL ELSE now() END)""",
            [(*r, r[-1]) for r in rows])
    for payment, match in accepted:
        iban = valid_iban(payment.counterparty_account)
        tenants = {a.tenant_id for a in match.allocations if a.tenant_id is not None}
        if iban and len(tenants) == 1 and payment.credit_debit == "CRDT":
            conn.execute("INSERT INTO payer_accounts (iban, tenant_id, source) VALUES "
                         "(%s, %s, %s) ON CONFLICT (iban, tenant_id) DO NOTHING",
                         (iban, tenants.pop(), "confirmed" if decided_by else "auto"))


def _book(conn: psycopg.Connection, default_ledger_id: int,
          accepted: list[tuple[Payment, Match]]) -> dict[int, int]:
    """One ledger transaction per accepted bank entry, in the ledger of its invoices
    (the default ledger for money that names no invoice)."""
    if not accepted:
        return {}
    entry_accounts = dict(conn.execute(
        "SELECT id, account FROM bank_entries WHERE id = ANY(%s)",
        ([p.id for p, _ in accepted],)).fetchall())
    invoice_ids = [a.invoice_id for _, m in accepted for a in m.allocations if a.invoice_id]
    invoice_info = {int(r[0]): (r[1], int(r[2])) for r in conn.execute(
        "SELECT id, unit_id, ledger_id FROM invoices WHERE id = ANY(%s)",
        (invoice_ids,)).fetchall()}
    accounts: dict[tuple[object, ...], int] = {}

    def account(ledger_id: int, kind: str, **keys: object) -> int:
        key = (ledger_id, kind, *sorted(keys.items()))
        if key not in accounts:
            accounts[key] = ensure_account(conn, ledger_id, kind, **keys)  # type: ignore[arg-type]
        return accounts[key]

    by_ledger: dict[int, list[tuple[int, NewTransaction]]] = defaultdict(list)
    for payment, match in accepted:
        ledger_id = next((invoice_info[a.invoice_id][1] for a in match.allocations
                          if a.invoice_id in invoice_info), default_ledger_id)
        bank = account(ledger_id, "bank", iban=entry_accounts[payment.id])
        postings = []
        for a in match.allocations:
            unit = invoice_info[a.invoice_id][0] if a.invoice_id in invoice_info else None
            receivable = account(ledger_id, "receivable", tenant_id=a.tenant_id, unit_id=unit)
            postings.append(Posting(receivable, -a.amount_minor, payment.currency))
        moved = sum(a.amount_minor for a in match.allocations)
        fees = (payment.charges_minor or 0) if match.rule == "return" else 0
        if fees:
            postings.append(Posting(account(ledger_id, "expense", cost_item="bank_charges"),
                                    fees, payment.currency))
        postings.append(Posting(bank, moved - fees, payment.currency))
        postings = [p for p in postings if p.amount_minor != 0]
        if len(postings) < 2:
            continue
        by_ledger[ledger_id].append((payment.id, NewTransaction(
            booked_on=payment.booking_date or date.today(),
            kind="return" if match.rule == "return" else "payment", postings=postings,
            description=f"bank entry {payment.id}: {match.rule} ({match.confidence})",
            reference=payment.end_to_end_id)))
    booked: dict[int, int] = {}
    for ledger_id, txs in by_ledger.items():
        posted = post_transactions(conn, ledger_id, [tx for _, tx in txs])
        booked.update({pid: p.id for (pid, _), p in zip(txs, posted, strict=True)})
    return booked


def review_queue(conn: psycopg.Connection) -> list[dict[str, object]]:
    """Bank entries whose match waits for a manager, with the proposal and suggestions."""
    rows = conn.execute(
        """SELECT e.id, e.amount_minor, e.currency, e.credit_debit, e.booking_date,
                  e.counterparty_name, e.counterparty_account, e.remittance,
                  m.rule, m.confidence, m.invoice_id, m.tenant_id, m.amount_minor,
                  m.suggestions
             FROM payment_matches m JOIN bank_entries e ON e.id = m.bank_entry_id
            WHERE m.status = 'suggested' ORDER BY e.booking_date, e.id, m.id""").fetchall()
    queue: dict[int, dict[str, object]] = {}
    for r in rows:
        item = queue.setdefault(int(r[0]), {
            "bank_entry_id": int(r[0]), "amount_minor": int(r[1]), "currency": r[2],
            "credit_debit": r[3], "booking_date": r[4], "counterparty_name": r[5],
            "counterparty_account": r[6], "remittance": r[7], "rule": r[8],
            "confidence": float(r[9]), "proposal": [], "suggestions": r[13]})
        item["proposal"].append({"invoice_id": r[10], "tenant_id": r[11],  # type: ignore[attr-defined]
                                 "amount_minor": int(r[12])})
    return list(queue.values())


def _entry(conn: psycopg.Connection, entry_id: int) -> Payment:
    row = conn.execute(f"SELECT {_PAYMENT_COLUMNS} FROM bank_entries e WHERE e.id = %s",
                       (entry_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"bank entry {entry_id} does not exist")
    return _payment(row)


def confirm(conn: psycopg.Connection, entry_id: int, decided_by: str,
            ledger_code: str = "main") -> list[int]:
    """Accept the suggested match of a bank entry as proposed; returns the match row ids."""
    with conn.transaction():
        payment = _entry(conn, entry_id)
        rows = conn.execute(
            "SELECT invoice_id, tenant_id, amount_minor, rule, confidence FROM payment_matches"
            " WHERE bank_entry_id = %s AND status = 'suggested' ORDER BY id FOR UPDATE",
            (entry_id,)).fetchall()
        if not rows:
            raise ConflictError(f"bank entry {entry_id} has no suggestion waiting for review")
        allocations = [Allocation(r[0], r[1], int(r[2])) for r in rows]
        return _decide(conn, payment, allocations, rows[0][3], float(rows[0][4]), decided_by,
                       ledger_code)


def override(conn: psycopg.Connection, entry_id: int, allocations: list[Allocation],
             decided_by: str, ledger_code: str = "main") -> list[int]:
    """Replace whatever was proposed for a bank entry with the manager's allocation."""
    with conn.transaction():
        payment = _entry(conn, entry_id)
        conn.execute("SELECT 1 FROM bank_entries WHERE id = %s", (entry_id,))
        accepted = conn.execute("SELECT count(*) FROM payment_matches WHERE bank_entry_id = %s"
                                " AND status IN ('auto', 'confirmed')", (entry_id,)).fetchone()
        if accepted and accepted[0]:
            raise ConflictError(f"bank entry {entry_id} is already booked; reverse its ledger "
                                "transaction first")
        total = sum(a.amount_minor for a in allocations)
        if total != payment.amount_minor:
            raise InvalidRequestError(f"allocations add up to {total}, the bank entry is "
                                      f"{payment.amount_minor}", field="allocations")
        for i, a in enumerate(allocations):
            if a.invoice_id is not None:
                row = conn.execute("SELECT tenant_id FROM invoices WHERE id = %s",
                                   (a.invoice_id,)).fetchone()
                if row is None:
                    raise NotFoundError(f"invoice {a.invoice_id} does not exist",
                                        field=f"allocations[{i}].invoice_id")
                a.tenant_id = int(row[0])
            elif a.tenant_id is None:
                raise InvalidRequestError("an allocation needs an invoice or a tenant",
                                          field=f"allocations[{i}]")
        return _decide(conn, payment, allocations, "manual", 1.0, decided_by, ledger_code)


def _decide(conn: psycopg.Connection, payment: Payment, allocations: list[Allocation],
            rule: str, confidence: float, decided_by: str, ledger_code: str) -> list[int]:
    conn.execute("UPDATE payment_matches SET status = 'superseded', decided_by = %s, "
                 "decided_at = now() WHERE bank_entry_id = %s AND status = 'suggested'",
                 (decided_by, payment.id))
    match = Match(payment.id, rule, confidence, allocations, status="confirmed")
    _store(conn, [(payment, match)], ledger_code, decided_by=decided_by)
    return [int(r[0]) for r in conn.execute(
        "SELECT id FROM payment_matches WHERE bank_entry_id = %s AND status = 'confirmed' "
        "ORDER BY id", (payment.id,)).fetchall()]


def anomalies(conn: psycopg.Connection) -> list[dict[str, object]]:
    """The anomalies of the latest run, each with its reason."""
    return [{"kind": r[0], "reason": r[1], "bank_entry_id": r[2], "invoice_id": r[3],
             "tenant_id": r[4]} for r in conn.execute(
        "SELECT kind, reason, bank_entry_id, invoice_id, tenant_id "
        "FROM reconciliation_anomalies ORDER BY id").fetchall()]
