"""Posting, reversing, balances, statements of account and chain verification.

Writes go through :func:`post_transactions`, which appends a batch to one ledger:
it locks the ledger row (writers of one ledger take turns, so the chain never
forks; ``UNIQUE (ledger_id, seq)`` would refuse a fork anyway), reads the head of
the chain, reserves transaction ids, computes the hashes in Python, and writes
transactions and postings with COPY.  The database checks the balance of every
transaction at COMMIT (deferred constraint trigger in 0004_ledger.sql), so the
Python check here only gives an earlier, clearer error.

Postings are signed minor units: positive = debit, negative = credit.  A tenant's
receivable balance is therefore positive while the tenant owes money.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import psycopg

from api.errors import ConflictError, InvalidRequestError, NotFoundError
from api.ledger.chain import GENESIS_HASH, link_hash

ACCOUNT_KINDS = ("receivable", "income", "prepayment", "deposit", "bank", "suspense", "fees",
                 "expense")


@dataclass(frozen=True, slots=True)
class Posting:
    account_id: int
    amount_minor: int  # + debit, - credit
    currency: str


@dataclass(frozen=True, slots=True)
class NewTransaction:
    booked_on: date
    kind: str
    postings: Sequence[Posting]
    description: str = ""
    reference: str | None = None
    reverses_id: int | None = None


@dataclass(frozen=True, slots=True)
class PostedTransaction:
    id: int
    seq: int
    hash: bytes


def ensure_ledger(conn: psycopg.Connection, code: str = "main", name: str = "Main ledger",
                  property_id: int | None = None) -> int:
    """Id of the ledger ``code``, created when missing."""
    row = conn.execute(
        "INSERT INTO ledgers (code, name, property_id) VALUES (%s, %s, %s) "
        "ON CONFLICT (code) DO NOTHING RETURNING id", (code, name, property_id)).fetchone()
    if row is None:
        row = conn.execute("SELECT id FROM ledgers WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def account_code(kind: str, *, tenant_id: int | None = None, unit_id: int | None = None,
                 property_id: int | None = None, cost_item: str | None = None,
                 iban: str | None = None) -> str:
    """The stable code of an account: ``receivable:t12:u3``, ``income:p1:heating``..."""
    parts = [kind]
    if property_id is not None:
        parts.append(f"p{property_id}")
    if tenant_id is not None:
        parts.append(f"t{tenant_id}")
    if unit_id is not None:
        parts.append(f"u{unit_id}")
    if cost_item:
        parts.append(cost_item)
    if iban:
        parts.append(iban)
    return ":".join(parts)


def ensure_account(conn: psycopg.Connection, ledger_id: int, kind: str, *,
                   tenant_id: int | None = None, unit_id: int | None = None,
                   property_id: int | None = None, cost_item: str | None = None,
                   iban: str | None = None, name: str = "") -> int:
    """Id of the account of ``kind`` for these keys in ``ledger_id``, created when missing.

    The issue's chart: receivable per tenant and unit; income per property and cost
    item; prepayments and deposits per property (and tenant); bank per IBAN; one
    suspense account for money not yet matched.
    """
    if kind not in ACCOUNT_KINDS:
        raise InvalidRequestError(f"unknown account kind {kind!r}", field="kind")
    code = account_code(kind, tenant_id=tenant_id, unit_id=unit_id, property_id=property_id,
                        cost_item=cost_item, iban=iban)
    row = conn.execute(
        """INSERT INTO ledger_accounts (ledger_id, code, kind, name, tenant_id, unit_id,
                                        property_id, cost_item, iban)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (ledger_id, code) DO NOTHING RETURNING id""",
        (ledger_id, code, kind, name or code, tenant_id, unit_id, property_id, cost_item, iban),
    ).fetchone()
    if row is None:
        row = conn.execute("SELECT id FROM ledger_accounts WHERE ledger_id = %s AND code = %s",
                           (ledger_id, code)).fetchone()
    assert row is not None
    return int(row[0])


def check_balanced(tx: NewTransaction, where: str = "transaction") -> None:
    """Python-side check before the database's own (clear error, no round trip)."""
    if len(tx.postings) < 2:
        raise InvalidRequestError(f"{where}: a transaction needs at least two postings",
                                  field="postings")
    sums: dict[str, int] = defaultdict(int)
    for i, p in enumerate(tx.postings):
        if not isinstance(p.amount_minor, int) or isinstance(p.amount_minor, bool):
            raise InvalidRequestError(f"{where}.postings[{i}]: amount must be integer minor "
                                      "units", field=f"postings[{i}].amount_minor")
        if p.amount_minor == 0:
            raise InvalidRequestError(f"{where}.postings[{i}]: amount is zero",
                                      field=f"postings[{i}].amount_minor")
        sums[p.currency] += p.amount_minor
    for currency, total in sums.items():
        if total != 0:
            raise InvalidRequestError(f"{where}: {currency} postings sum to {total}, not 0",
                                      field="postings")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """A value in COPY text format: ``\\N`` for NULL, backslash escapes for the rest."""
    if value is None:
        return "\\N"
    return str(value).translate(_COPY_ESCAPES)


def post_transactions(conn: psycopg.Connection, ledger_id: int,
                      transactions: Sequence[NewTransaction]) -> list[PostedTransaction]:
    """Append ``transactions`` to the ledger's chain atomically; returns ids, seqs, hashes."""
    if not transactions:
        return []
    for i, tx in enumerate(transactions):
        check_balanced(tx, f"transactions[{i}]")
    with conn.transaction():
        locked = conn.execute("SELECT id FROM ledgers WHERE id = %s FOR UPDATE",
                              (ledger_id,)).fetchone()
        if locked is None:
            raise NotFoundError(f"ledger {ledger_id} does not exist", field="ledger_id")
        head = conn.execute(
            "SELECT seq, hash FROM ledger_transactions WHERE ledger_id = %s "
            "ORDER BY seq DESC LIMIT 1", (ledger_id,)).fetchone()
        seq, prev = (int(head[0]), bytes(head[1])) if head else (0, GENESIS_HASH)
        account_ids = sorted({p.account_id for tx in transactions for p in tx.postings})
        foreign = conn.execute(
            "SELECT count(*) FROM unnest(%s::bigint[]) a(id) LEFT JOIN ledger_accounts la "
            "ON la.id = a.id AND la.ledger_id = %s WHERE la.id IS NULL",
            (account_ids, ledger_id)).fetchone()
        if foreign and foreign[0]:
            raise InvalidRequestError(f"{foreign[0]} posting account(s) are not accounts of "
                                      f"ledger {ledger_id}", field="postings")
        ids = [int(r[0]) for r in conn.execute(
            "SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id')) "
            "FROM generate_series(1, %s)", (len(transactions),)).fetchall()]
        posted: list[PostedTransaction] = []
        tx_rows = []
        posting_rows = []
        for tx_id, tx in zip(ids, transactions, strict=True):
            seq += 1
            lines = [(n, p.account_id, p.amount_minor, p.currency)
                     for n, p in enumerate(tx.postings, start=1)]
            digest = link_hash(ledger_id=ledger_id, seq=seq, booked_on=tx.booked_on,
                               kind=tx.kind, description=tx.description,
                               reference=tx.reference, reverses_id=tx.reverses_id,
                               prev_hash=prev, postings=lines)
            tx_rows.append((tx_id, ledger_id, seq, tx.booked_on, tx.kind, tx.description,
                            tx.reference, tx.reverses_id, prev, digest))
            posting_rows.extend((tx_id, *line) for line in lines)
            posted.append(PostedTransaction(tx_id, seq, digest))
            prev = digest
        try:
            with conn.cursor() as cur:
                with cur.copy("COPY ledger_transactions (id, ledger_id, seq, booked_on, kind, "
                              "description, reference, reverses_id, prev_hash, hash) "
                              "FROM STDIN") as copy:
                    copy.write("".join(
                        f"{i}\t{lg}\t{sq}\t{day}\t{_copy_text(kd)}\t{_copy_text(ds)}\t"
                        f"{_copy_text(rf)}\t{_copy_text(rv)}\t\\\\x{pv.hex()}\t"
                        f"\\\\x{dg.hex()}\n"
                        for i, lg, sq, day, kd, ds, rf, rv, pv, dg in tx_rows))
                with cur.copy("COPY ledger_postings (transaction_id, line, account_id, "
                              "amount_minor, currency) FROM STDIN") as copy:
                    copy.write("".join(f"{t}\t{n}\t{a}\t{m}\t{c}\n"
                                       for t, n, a, m, c in posting_rows))
        except psycopg.errors.UniqueViolation as exc:
            if "reverses_id" in str(exc):
                raise ConflictError("that transaction has already been reversed",
                                    field="reverses_id") from exc
            raise ConflictError(f"ledger write conflict: {exc.diag.message_primary}") from exc
    return posted


def post_transaction(conn: psycopg.Connection, ledger_id: int,
                     tx: NewTransaction) -> PostedTransaction:
    """Append one transaction (see :func:`post_transactions`)."""
    return post_transactions(conn, ledger_id, [tx])[0]


def reverse_transaction(conn: psycopg.Connection, transaction_id: int, booked_on: date,
                        description: str = "") -> PostedTransaction:
    """Book the exact opposite of a transaction: the only way to correct the books."""
    row = conn.execute("SELECT ledger_id, kind, reverses_id FROM ledger_transactions "
                       "WHERE id = %s", (transaction_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"ledger transaction {transaction_id} does not exist")
    if row[2] is not None:
        raise ConflictError(f"transaction {transaction_id} is itself a reversal; "
                            "book a new transaction instead")
    postings = [Posting(int(a), -int(m), str(c)) for a, m, c in conn.execute(
        "SELECT account_id, amount_minor, currency FROM ledger_postings "
        "WHERE transaction_id = %s ORDER BY line", (transaction_id,)).fetchall()]
    return post_transaction(conn, int(row[0]), NewTransaction(
        booked_on=booked_on, kind="reversal", postings=postings,
        description=description or f"reversal of transaction {transaction_id}",
        reverses_id=transaction_id))


@dataclass(slots=True)
class AccountBalance:
    account_id: int
    code: str
    kind: str
    currency: str
    balance_minor: int


def tenant_balances(conn: psycopg.Connection, tenant_id: int,
                    at: date | None = None) -> list[AccountBalance]:
    """Balances of every account of the tenant at the end of day ``at`` (default: all)."""
    rows = conn.execute(
        """SELECT a.id, a.code, a.kind, p.currency, sum(p.amount_minor)
             FROM ledger_accounts a
             JOIN ledger_postings p ON p.account_id = a.id
             JOIN ledger_transactions t ON t.id = p.transaction_id
            WHERE a.tenant_id = %s AND (%s::date IS NULL OR t.booked_on <= %s::date)
            GROUP BY a.id, a.code, a.kind, p.currency ORDER BY a.code, p.currency""",
        (tenant_id, at, at)).fetchall()
    return [AccountBalance(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]


@dataclass(slots=True)
class StatementLine:
    transaction_id: int
    booked_on: date
    kind: str
    description: str
    reference: str | None
    currency: str
    debit_minor: int
    credit_minor: int
    balance_minor: int


@dataclass(slots=True)
class StatementOfAccount:
    tenant_id: int
    date_from: date | None
    date_to: date | None
    opening_minor: dict[str, int] = field(default_factory=dict)
    lines: list[StatementLine] = field(default_factory=list)
    closing_minor: dict[str, int] = field(default_factory=dict)


def statement_of_account(conn: psycopg.Connection, tenant_id: int, date_from: date | None,
                         date_to: date | None) -> StatementOfAccount:
    """Receivable movements of a tenant between two dates with a running balance.

    Opening balance = receivable postings booked before ``date_from``; every line is
    one ledger transaction (invoice, payment, credit note, fee, reversal).
    """
    exists = conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone()
    if exists is None:
        raise NotFoundError(f"tenant {tenant_id} does not exist")
    result = StatementOfAccount(tenant_id, date_from, date_to)
    for currency, total in conn.execute(
            """SELECT p.currency, sum(p.amount_minor) FROM ledger_postings p
                 JOIN ledger_accounts a ON a.id = p.account_id
                 JOIN ledger_transactions t ON t.id = p.transaction_id
                WHERE a.tenant_id = %s AND a.kind = 'receivable' AND t.booked_on < %s
                GROUP BY p.currency""", (tenant_id, date_from or date.min)).fetchall():
        result.opening_minor[currency] = int(total)
    running = dict(result.opening_minor)
    for tx_id, booked_on, kind, description, reference, currency, amount in conn.execute(
            """SELECT t.id, t.booked_on, t.kind, t.description, t.reference, p.currency,
                      sum(p.amount_minor)
                 FROM ledger_postings p
                 JOIN ledger_accounts a ON a.id = p.account_id
                 JOIN ledger_transactions t ON t.id = p.transaction_id
                WHERE a.tenant_id = %s AND a.kind = 'receivable'
                  AND t.booked_on >= %s AND t.booked_on <= %s
                GROUP BY t.id, t.booked_on, t.kind, t.description, t.reference, p.currency
                ORDER BY t.booked_on, t.seq, t.id""",
            (tenant_id, date_from or date.min, date_to or date.max)).fetchall():
        amount = int(amount)
        running[currency] = running.get(currency, 0) + amount
        result.lines.append(StatementLine(int(tx_id), booked_on, kind, description, reference,
                                          currency, max(amount, 0), max(-amount, 0),
                                          running[currency]))
    result.closing_minor = running
    return result


@dataclass(slots=True)
class ChainReport:
    ok: bool
    ledgers_checked: int
    transactions_checked: int
    first_broken: dict[str, object] | None = None


def verify_chain(conn: psycopg.Connection, ledger_id: int | None = None) -> ChainReport:
    """Recompute every ledger's hash chain from the rows; report the first broken link.

    A link is broken when the sequence has a gap, ``prev_hash`` is not the previous
    transaction's hash, the stored hash differs from the recomputed one (a field or a
    posting was changed, added or removed), or the postings do not balance.
    """
    ledgers = [int(r[0]) for r in conn.execute(
        "SELECT id FROM ledgers WHERE %s::bigint IS NULL OR id = %s ORDER BY id",
        (ledger_id, ledger_id)).fetchall()]
    if ledger_id is not None and not ledgers:
        raise NotFoundError(f"ledger {ledger_id} does not exist")
    checked = 0
    for lid in ledgers:
        prev = GENESIS_HASH
        expected_seq = 1
        with conn.cursor(name=f"verify_{lid}") if not conn.autocommit else conn.cursor() as cur:
            cur.execute(
                """SELECT t.id, t.seq, t.booked_on, t.kind, t.description, t.reference,
                          t.reverses_id, t.prev_hash, t.hash,
                          coalesce(array_agg(p.line ORDER BY p.line)
                                   FILTER (WHERE p.line IS NOT NULL), '{}'),
                          coalesce(array_agg(p.account_id ORDER BY p.line)
                                   FILTER (WHERE p.line IS NOT NULL), '{}'),
                          coalesce(array_agg(p.amount_minor ORDER BY p.line)
                                   FILTER (WHERE p.line IS NOT NULL), '{}'),
                          coalesce(array_agg(p.currency::text ORDER BY p.line)
                                   FILTER (WHERE p.line IS NOT NULL), '{}')
                     FROM ledger_transactions t
                     LEFT JOIN ledger_postings p ON p.transaction_id = t.id
                    WHERE t.ledger_id = %s
                    GROUP BY t.id ORDER BY t.seq""", (lid,))
            for (tx_id, seq, booked_on, kind, description, reference, reverses_id, prev_hash,
                 stored, lines, accounts, amounts, currencies) in cur:
                checked += 1
                reason = _link_problem(lid, seq, expected_seq, bytes(prev_hash), prev,
                                       bytes(stored), booked_on, kind, description,
                                       reference, reverses_id,
                                       list(zip(lines, accounts, amounts, currencies,
                                                strict=True)))
                if reason:
                    return ChainReport(False, len(ledgers), checked, {
                        "ledger_id": lid, "seq": seq, "transaction_id": tx_id,
                        "reason": reason})
                prev = bytes(stored)
                expected_seq += 1
    return ChainReport(True, len(ledgers), checked)


def _link_problem(ledger_id: int, seq: int, expected_seq: int, prev_hash: bytes, prev: bytes,
                  stored: bytes, booked_on: date, kind: str, description: str,
                  reference: str | None, reverses_id: int | None,
                  postings: list[tuple[int, int, int, str]]) -> str | None:
    """Why one link of the chain does not hold, or ``None`` when it does."""
    if seq != expected_seq:
        return f"sequence gap: expected seq {expected_seq}, found {seq}"
    if prev_hash != prev:
        return "prev_hash is not the hash of the previous transaction"
    digest = link_hash(ledger_id=ledger_id, seq=seq, booked_on=booked_on, kind=kind,
                       description=description, reference=reference, reverses_id=reverses_id,
                       prev_hash=prev, postings=[(int(a), int(b), int(c), str(d))
                                                 for a, b, c, d in postings])
    if digest != stored:
        return ("stored hash differs from the recomputed hash: the transaction or its "
                "postings were changed")
    sums: dict[str, int] = defaultdict(int)
    for _line, _account, amount, currency in postings:
        sums[currency] += int(amount)
    if any(sums.values()):
        return f"postings do not balance: {dict(sums)}"
    if len(postings) < 2:
        return "fewer than two postings"
    return None
