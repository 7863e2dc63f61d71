"""The ledger refuses changes, balances in the database and verifies its hash chain."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from stdnum import iso11649

from api.errors import ConflictError, InvalidRequestError
from api.invoices.service import (
    InvoiceLine,
    add_recurring_charge,
    create_credit_note,
    create_invoice,
    creditor_reference_for,
    invoice_recurring_charges,
    open_amount,
)
from api.ledger.idempotency import run_idempotent
from api.ledger.service import (
    NewTransaction,
    Posting,
    ensure_account,
    post_transaction,
    reverse_transaction,
    statement_of_account,
    tenant_balances,
    verify_chain,
)
from tests.ledger.seed import seed_estate


def _bank_and_suspense(conn: psycopg.Connection, ledger_id: int) -> tuple[int, int]:
    return (ensure_account(conn, ledger_id, "bank", iban="DE02120300000000202051"),
            ensure_account(conn, ledger_id, "suspense"))


def _payment(bank: int, suspense: int, amount: int, day: int = 5) -> NewTransaction:
    return NewTransaction(booked_on=date(2026, 3, day), kind="payment",
                          postings=[Posting(bank, amount, "EUR"),
                                    Posting(suspense, -amount, "EUR")])


def test_unbalanced_transaction_is_refused_by_the_database(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    with (pytest.raises(psycopg.errors.CheckViolation, match="does not balance"),
          db_conn.transaction()):
        # Two statements, so the per-statement check passes the first half-transaction
        # and only the deferred check at COMMIT can refuse it.
        tx = db_conn.execute(
            "INSERT INTO ledger_transactions (ledger_id, seq, booked_on, kind, prev_hash, "
            "hash) VALUES (%s, 1, '2026-03-01', 'payment', %s, %s) RETURNING id",
            (estate.ledger_id, bytes(32), bytes(32))).fetchone()
        assert tx is not None
        db_conn.execute("INSERT INTO ledger_postings VALUES (%s, 1, %s, 100, 'EUR'), "
                        "(%s, 2, %s, -99, 'EUR')", (tx[0], bank, tx[0], suspense))
    with (pytest.raises(psycopg.errors.CheckViolation, match="fewer than two postings"),
          db_conn.transaction()):
        db_conn.execute(
            "INSERT INTO ledger_transactions (ledger_id, seq, booked_on, kind, prev_hash, "
            "hash) VALUES (%s, 1, '2026-03-01', 'payment', %s, %s)",
            (estate.ledger_id, bytes(32), bytes(32)))
    count = db_conn.execute("SELECT count(*) FROM ledger_transactions").fetchone()
    assert count == (0,)


def test_python_refuses_unbalanced_before_the_database(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    with pytest.raises(InvalidRequestError, match="EUR postings sum to 1"):
        post_transaction(db_conn, estate.ledger_id, NewTransaction(
            booked_on=date(2026, 3, 1), kind="payment",
            postings=[Posting(bank, 101, "EUR"), Posting(suspense, -100, "EUR")]))


def test_postings_added_to_a_committed_transaction_must_balance(
        db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    posted = post_transaction(db_conn, estate.ledger_id, _payment(bank, suspense, 500))
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
        db_conn.execute("INSERT INTO ledger_postings VALUES (%s, 3, %s, 7, 'EUR')",
                        (posted.id, bank))


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_postings SET amount_minor = amount_minor * 2",
    "DELETE FROM ledger_postings",
    "UPDATE ledger_transactions SET description = 'changed'",
    "DELETE FROM ledger_transactions",
    "TRUNCATE ledger_postings CASCADE",
    "UPDATE invoices SET total_minor = 1",
])
def test_direct_update_and_delete_are_refused(db_conn: psycopg.Connection,
                                              statement: str) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    create_invoice(db_conn, ledger_id=estate.ledger_id, tenant_id=estate.tenant_ids[0],
                   property_id=estate.property_id, unit_id=estate.unit_ids[0],
                   issued_on=date(2026, 3, 1), due_on=date(2026, 3, 15), currency="EUR",
                   lines=[InvoiceLine("rent", 80000)])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        db_conn.execute(statement)
    assert verify_chain(db_conn).ok


def test_forged_row_is_found_by_verify_at_its_link(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    posted = [post_transaction(db_conn, estate.ledger_id, _payment(bank, suspense, 100 + i))
              for i in range(5)]
    report = verify_chain(db_conn)
    assert report.ok and report.transactions_checked == 5
    # A superuser bypasses the triggers and changes a balanced pair of postings.
    with db_conn.transaction():
        db_conn.execute("SET LOCAL session_replication_role = replica")
        db_conn.execute("UPDATE ledger_postings SET amount_minor = amount_minor * 10 "
                        "WHERE transaction_id = %s", (posted[2].id,))
    report = verify_chain(db_conn)
    assert not report.ok
    assert report.first_broken is not None
    assert report.first_broken["seq"] == 3
    assert report.first_broken["transaction_id"] == posted[2].id
    assert "recomputed hash" in str(report.first_broken["reason"])


def test_forged_hash_breaks_the_next_link(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    for i in range(4):
        post_transaction(db_conn, estate.ledger_id, _payment(bank, suspense, 100 + i))
    # Rewrite transaction 2 completely, with a freshly computed hash of its new content:
    # its own link holds, but transaction 3 still names the old hash.
    from api.ledger.chain import link_hash

    with db_conn.transaction():
        db_conn.execute("SET LOCAL session_replication_role = replica")
        row = db_conn.execute("SELECT id, prev_hash FROM ledger_transactions WHERE seq = 2"
                              ).fetchone()
        assert row is not None
        lines = db_conn.execute("SELECT line, account_id, amount_minor, currency FROM "
                                "ledger_postings WHERE transaction_id = %s ORDER BY line",
                                (row[0],)).fetchall()
        forged = link_hash(ledger_id=estate.ledger_id, seq=2, booked_on=date(2026, 3, 5),
                           kind="payment", description="forged", reference=None,
                           reverses_id=None, prev_hash=bytes(row[1]),
                           postings=[(a, b, c, d) for a, b, c, d in lines])
        db_conn.execute("UPDATE ledger_transactions SET description = 'forged', hash = %s "
                        "WHERE id = %s", (forged, row[0]))
    report = verify_chain(db_conn)
    assert report.first_broken is not None and report.first_broken["seq"] == 3
    assert "prev_hash" in str(report.first_broken["reason"])


def test_reversal_restores_the_balance_and_happens_once(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    tenant, unit = estate.tenant_ids[0], estate.unit_ids[0]
    invoice = create_invoice(db_conn, ledger_id=estate.ledger_id, tenant_id=tenant,
                             property_id=estate.property_id, unit_id=unit,
                             issued_on=date(2026, 3, 1), due_on=date(2026, 3, 15),
                             currency="EUR", lines=[InvoiceLine("rent", 80000),
                                                    InvoiceLine("prepayment_heating", 12000)])
    [balance] = tenant_balances(db_conn, tenant)
    assert (balance.kind, balance.balance_minor) == ("receivable", 92000)
    reverse_transaction(db_conn, invoice.transaction_id, date(2026, 3, 2))
    assert [b.balance_minor for b in tenant_balances(db_conn, tenant)] == [0]
    # Balance at any date: before the reversal the tenant still owed it.
    assert [b.balance_minor for b in tenant_balances(db_conn, tenant, date(2026, 3, 1))] == [
        92000]
    with pytest.raises(ConflictError, match="already been reversed"):
        reverse_transaction(db_conn, invoice.transaction_id, date(2026, 3, 3))
    assert verify_chain(db_conn).ok


def test_idempotency_key_replays_same_body_and_refuses_another(
        db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    runs: list[int] = []

    def book() -> dict[str, int]:
        posted = post_transaction(db_conn, estate.ledger_id, _payment(bank, suspense, 4200))
        runs.append(posted.id)
        return {"transaction_id": posted.id}

    body = {"amount_minor": 4200, "currency": "EUR"}
    first, replayed = run_idempotent(db_conn, "payments", "key-1", body, book)
    assert not replayed
    again, replayed = run_idempotent(db_conn, "payments", "key-1",
                                     {"currency": "EUR", "amount_minor": 4200}, book)
    assert replayed and again == first and len(runs) == 1
    with pytest.raises(ConflictError, match="different request body"):
        run_idempotent(db_conn, "payments", "key-1", {"amount_minor": 4300,
                                                     "currency": "EUR"}, book)
    count = db_conn.execute("SELECT count(*) FROM ledger_transactions").fetchone()
    assert count == (1,)


def test_failed_action_does_not_consume_the_key(db_conn: psycopg.Connection) -> None:
    def fail() -> dict[str, int]:
        raise InvalidRequestError("boom")

    with pytest.raises(InvalidRequestError):
        run_idempotent(db_conn, "payments", "key-2", {"a": 1}, fail)
    result, replayed = run_idempotent(db_conn, "payments", "key-2", {"a": 1}, lambda: {"ok": 1})
    assert result == {"ok": 1} and not replayed


def test_invoice_reference_credit_note_and_statement_of_account(
        db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    tenant = estate.tenant_ids[0]
    invoice = create_invoice(db_conn, ledger_id=estate.ledger_id, tenant_id=tenant,
                             property_id=estate.property_id, unit_id=estate.unit_ids[0],
                             issued_on=date(2026, 3, 1), due_on=date(2026, 3, 15),
                             currency="EUR", lines=[InvoiceLine("heating", 10001),
                                                    InvoiceLine("water", 20000)])
    assert iso11649.is_valid(invoice.creditor_reference)
    assert invoice.creditor_reference.endswith(invoice.number.replace("-", ""))
    note = create_credit_note(db_conn, invoice.id, 10000, date(2026, 3, 10), "meter error")
    assert note.kind == "credit_note" and note.credits_invoice_id == invoice.id
    lines = db_conn.execute("SELECT cost_item, amount_minor FROM invoice_lines "
                            "WHERE invoice_id = %s ORDER BY line", (note.id,)).fetchall()
    assert lines == [("heating", 3334), ("water", 6666)]
    assert open_amount(db_conn, invoice.id) == 20001
    with pytest.raises(InvalidRequestError, match="uncredited 20001"):
        create_credit_note(db_conn, invoice.id, 20002, date(2026, 3, 11), "too much")
    statement = statement_of_account(db_conn, tenant, date(2026, 3, 5), date(2026, 3, 31))
    assert statement.opening_minor == {"EUR": 30001}
    assert [(line.kind, line.debit_minor, line.credit_minor, line.balance_minor)
            for line in statement.lines] == [("credit_note", 0, 10000, 20001)]
    assert statement.closing_minor == {"EUR": 20001}


def test_creditor_reference_check_digits_follow_iso11649() -> None:
    # The ISO 11649 standard's own example: RF18 5390 0754 7034.
    assert creditor_reference_for("539007547034") == "RF18539007547034"


def test_recurring_charges_invoice_each_month_once(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna", "Ben"])
    for tenant, unit, amount in zip(estate.tenant_ids, estate.unit_ids, (75000, 64000),
                                    strict=True):
        add_recurring_charge(db_conn, ledger_id=estate.ledger_id, tenant_id=tenant,
                             property_id=estate.property_id, unit_id=unit, cost_item="rent",
                             amount_minor=amount, currency="EUR", valid_from=date(2026, 1, 1),
                             valid_to=date(2026, 2, 28))
    first = invoice_recurring_charges(db_conn, 2026, 2)
    assert sorted(i.total_minor for i in first) == [64000, 75000]
    assert all(i.due_on == date(2026, 2, 3) for i in first)
    assert invoice_recurring_charges(db_conn, 2026, 2) == []
    assert invoice_recurring_charges(db_conn, 2026, 3) == []
    assert verify_chain(db_conn).transactions_checked == 2


def test_postings_must_name_an_existing_transaction_and_an_account_of_its_ledger(
        db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna"])
    bank, suspense = _bank_and_suspense(db_conn, estate.ledger_id)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="does not exist"):
        db_conn.execute("INSERT INTO ledger_postings VALUES (424242, 1, %s, 5, 'EUR'), "
                        "(424242, 2, %s, -5, 'EUR')", (bank, suspense))
    from api.ledger.service import ensure_ledger

    other = ensure_ledger(db_conn, "other")
    foreign = ensure_account(db_conn, other, "suspense")
    with pytest.raises(InvalidRequestError, match="not accounts of ledger"):
        post_transaction(db_conn, estate.ledger_id, NewTransaction(
            booked_on=date(2026, 3, 1), kind="payment",
            postings=[Posting(bank, 5, "EUR"), Posting(foreign, -5, "EUR")]))
    posted = post_transaction(db_conn, estate.ledger_id, _payment(bank, suspense, 5))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="not an account of that"):
        db_conn.execute("INSERT INTO ledger_postings VALUES (%s, 3, %s, 5, 'EUR'), "
                        "(%s, 4, %s, -5, 'EUR')", (posted.id, foreign, posted.id, suspense))
