"""Import parsed bank statements into the database: atomic, idempotent, continuous.

- Atomic: the whole file is parsed first (a malformed file raises the parser's
  error naming file, line and element, before any row is written), then every
  statement of it is written in one database transaction; any refusal rolls all
  of it back.
- Idempotent: a statement is keyed by account, currency, the bank's id and its
  balances and dates, so the same file twice is skipped; each booked entry is keyed
  by a fingerprint per account (bank reference, dates, amount, direction, parties,
  texts, and its occurrence number among identical entries of the statement), so
  overlapping statements (a camt.052 intraday report and the camt.053 of the day,
  or a re-exported period) add only entries not seen before.
- Continuous: a statement's opening balance must equal the closing balance of
  the account's previous statement (the latest one closing on or before this
  statement's opening date); otherwise the import is refused naming both.  A
  statement that does not reconcile internally (opening + entries != closing; some
  real bank files do not) is imported with its parser warning kept.
- Batched entries (camt ``TxDtls``) become one row per transaction detail, as each
  is one payment to match; pending (PDNG) and information (INFO) entries are
  not booked and not imported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from api.bank.detect import parse_bytes
from api.bank.errors import StatementError
from api.bank.statement import CREDIT, Entry, EntryDetail, ParseResult, Statement, format_minor


class ImportRefusedError(StatementError):
    """A well-formed file whose statements cannot be imported (e.g. a balance gap)."""

    title = "Bank statement import refused"


@dataclass(slots=True)
class StatementImport:
    account: str
    statement_id: str | None
    status: str  # imported | duplicate
    entries_added: int
    entries_known: int
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    file: str | None
    format: str
    statements: list[StatementImport] = field(default_factory=list)

    @property
    def entries_added(self) -> int:
        return sum(s.entries_added for s in self.statements)

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "format": self.format, "entries_added": self.entries_added,
                "statements": [dataclasses.asdict(s) for s in self.statements]}


def _account_of(statement: Statement, file: str | None) -> str:
    """IBAN (compact, upper case), else the bank's other account id.

    Wallet exports (WeChat Pay, Alipay personal bills) name no account, only the
    owner: the account is then ``<message>:<owner>``, so two owners' bills never mix.
    An MT940 fragment without ``:25:`` names neither and is refused.
    """
    if statement.account_iban:
        return statement.account_iban.replace(" ", "").upper()
    if statement.account_other_id:
        return statement.account_other_id
    if statement.message and statement.account_owner_name and statement.message.startswith(
            ("wechat", "alipay")):
        return f"{statement.message}:{statement.account_owner_name}"
    raise ImportRefusedError(f"statement {statement.id or '?'} names no account "
                             "(MT940 :25:, camt Acct/Id)", file=file)


def _statement_key(statement: Statement) -> str:
    parts = [statement.id, statement.electronic_sequence_number, statement.statement_number,
             statement.opening_date, statement.closing_date,
             statement.opening_balance_minor, statement.closing_balance_minor,
             statement.from_datetime, statement.to_datetime, statement.message]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


_PAYMENT_FIELDS = ("amount_minor", "currency", "credit_debit", "reversal", "booking_date",
                   "value_date", "counterparty_name", "counterparty_account", "remittance",
                   "end_to_end_id", "creditor_reference", "mandate_id", "return_reason",
                   "charges_minor")


def _payments(entry: Entry) -> list[tuple[int, dict[str, object]]]:
    """(detail index, fields) per payment: details of a batch, else the entry itself."""
    details = [d for d in entry.details if d.amount_minor is not None]
    if len(details) < 2:
        return [(0, _fields(entry, entry, details[0] if details else None))]
    return [(n, _fields(entry, d, d)) for n, d in enumerate(details, start=1)]


def _fields(entry: Entry, source: EntryDetail, detail: EntryDetail | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in _PAYMENT_FIELDS:
        value = getattr(source, name)
        if value in (None, "") and detail is not None and detail is not source:
            value = getattr(detail, name)
        if value in (None, "") and source is not entry:
            value = getattr(entry, name)
        out[name] = value
    out["reversal"] = bool(out["reversal"])
    if not out.get("creditor_reference"):
        refs = [r.ref for r in source.creditor_references if r.ref]
        out["creditor_reference"] = refs[0] if refs else None
    out["bank_reference"] = entry.account_servicer_reference or entry.entry_reference
    return out


def _fingerprint(account: str, payment: dict[str, object], detail_index: int) -> str:
    parts = [account, payment.get("bank_reference"), detail_index] + [
        payment.get(name) for name in _PAYMENT_FIELDS]
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()


def import_result(conn: psycopg.Connection, result: ParseResult, *, file: str | None = None,
                  file_sha256: str | None = None) -> ImportReport:
    """Write every statement of a parsed file in one database transaction."""
    report = ImportReport(file, result.format)
    statements = sorted(result.statements,
                        key=lambda s: (s.opening_date or s.closing_date or "", s.id or ""))
    with conn.transaction():
        for statement in statements:
            report.statements.append(_import_statement(conn, statement, result.format, file,
                                                       file_sha256))
    return report


def _import_statement(conn: psycopg.Connection, statement: Statement, fmt: str,
                      file: str | None, file_sha256: str | None) -> StatementImport:
    account = _account_of(statement, file)
    currency = statement.currency or (statement.entries[0].currency if statement.entries
                                      else None)
    label = f"statement {statement.id or '?'} of account {account}"
    if not currency:
        raise ImportRefusedError(f"{label} has no currency", file=file)
    # Writers of one account take turns, so continuity is checked against a stable past.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"bank:{account}:{currency}",))
    key = _statement_key(statement)
    known = conn.execute("SELECT id FROM bank_statements WHERE account = %s AND currency = %s "
                         "AND statement_key = %s", (account, currency, key)).fetchone()
    if known is not None:
        return StatementImport(account, statement.id, "duplicate", 0, len(statement.entries))
    _check_continuity(conn, statement, account, currency, label, file)
    row = conn.execute(
        """INSERT INTO bank_statements (account, currency, statement_key, bank_statement_id,
               format, file_name, file_sha256, opening_balance_minor, closing_balance_minor,
               opening_date, closing_date, warnings)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (account, currency, key, statement.id, statement.message or fmt, file, file_sha256,
         statement.opening_balance_minor, statement.closing_balance_minor,
         statement.opening_date, statement.closing_date, Jsonb(statement.warnings))).fetchone()
    assert row is not None
    statement_id = int(row[0])
    rows = []
    seen: Counter[str] = Counter()
    for entry in statement.entries:
        if entry.status in ("PDNG", "INFO") or entry.amount_minor is None:
            continue
        for detail_index, payment in _payments(entry):
            base = _fingerprint(account, payment, detail_index)
            seen[base] += 1
            entry_key = f"{base}:{seen[base]}"
            rows.append((statement_id, account, entry_key, payment["amount_minor"],
                         payment["currency"] or currency, payment["credit_debit"] or CREDIT,
                         payment["reversal"], payment["booking_date"], payment["value_date"],
                         payment["counterparty_name"], payment["counterparty_account"],
                         payment["remittance"], payment["end_to_end_id"],
                         payment["creditor_reference"], payment["mandate_id"],
                         payment["return_reason"], payment["charges_minor"]))
    added = 0
    if rows:
        with conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE IF NOT EXISTS bank_entries_in "
                        "(LIKE bank_entries INCLUDING DEFAULTS) ON COMMIT DROP")
            cur.execute("ALTER TABLE bank_entries_in ALTER COLUMN id DROP NOT NULL")
            with cur.copy("COPY bank_entries_in (statement_id, account, entry_key, amount_minor, "
                          "currency, credit_debit, reversal, booking_date, value_date, "
                          "counterparty_name, counterparty_account, remittance, end_to_end_id, "
                          "creditor_reference, mandate_id, return_reason, charges_minor) "
                          "FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            cur.execute(
                """INSERT INTO bank_entries (statement_id, account, entry_key, amount_minor,
                       currency, credit_debit, reversal, booking_date, value_date,
                       counterparty_name, counterparty_account, remittance, end_to_end_id,
                       creditor_reference, mandate_id, return_reason, charges_minor)
                   SELECT statement_id, account, entry_key, amount_minor, currency,
                          credit_debit, reversal, booking_date, value_date, counterparty_name,
                          counterparty_account, remittance, end_to_end_id, creditor_reference,
                          mandate_id, return_reason, charges_minor
                     FROM bank_entries_in
                   ON CONFLICT (account, entry_key) DO NOTHING""")
            added = cur.rowcount
            cur.execute("TRUNCATE bank_entries_in")
    return StatementImport(account, statement.id, "imported", added, len(rows) - added,
                           list(statement.warnings))


def _check_continuity(conn: psycopg.Connection, statement: Statement, account: str,
                      currency: str, label: str, file: str | None) -> None:
    if statement.opening_balance_minor is None:
        return
    previous = conn.execute(
        """SELECT bank_statement_id, closing_balance_minor, closing_date, file_name
             FROM bank_statements
            WHERE account = %s AND currency = %s AND closing_balance_minor IS NOT NULL
              AND (%s::date IS NULL OR closing_date IS NULL OR closing_date <= %s::date)
            ORDER BY closing_date DESC NULLS LAST, id DESC LIMIT 1""",
        (account, currency, statement.opening_date, statement.opening_date)).fetchone()
    if previous is None:
        return
    prev_id, prev_closing, prev_date, prev_file = previous
    if int(prev_closing) != statement.opening_balance_minor:
        raise ImportRefusedError(
            f"{label}: opening balance {format_minor(statement.opening_balance_minor, currency)}"
            f" {currency} ({statement.opening_date or 'no date'}) is not the closing balance "
            f"{format_minor(int(prev_closing), currency)} {currency} of the previous statement "
            f"{prev_id or '?'} ({prev_date}, {prev_file or 'unknown file'})",
            file=file, element="OpeningBalance")


def import_bytes(conn: psycopg.Connection, data: bytes, *, file: str | None = None,
                 **parse_options: object) -> ImportReport:
    """Parse ``data`` (format detected) and import it; nothing is written if parsing fails."""
    result = parse_bytes(data, file=file, **parse_options)  # type: ignore[arg-type]
    return import_result(conn, result, file=file, file_sha256=hashlib.sha256(data).hexdigest())


def import_file(conn: psycopg.Connection, path: str | os.PathLike[str],
                **parse_options: object) -> ImportReport:
    """Read, parse and import one bank file."""
    file = Path(path)
    return import_bytes(conn, file.read_bytes(), file=file.name, **parse_options)
