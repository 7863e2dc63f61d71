"""Reconciliation end to end on PostgreSQL: invoices, a bank file, a run, review, learning."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from api.bank.importer import import_bytes
from api.errors import ConflictError, InvalidRequestError
from api.invoices.service import InvoiceLine, create_invoice, open_amount
from api.ledger.service import tenant_balances, verify_chain
from api.reconciliation import service
from api.reconciliation.matcher import Allocation, MatchSettings
from tests.ledger.seed import seed_estate
from tests.reconciliation.mt940_text import Line, mt940

ACCOUNT = "DE02120300000000202051"
ANNA_IBAN = "DE89370400440532013000"
SETTINGS = MatchSettings(as_of=date(2026, 3, 31))


def _invoices(conn: psycopg.Connection) -> tuple[list, object]:
    estate = seed_estate(conn, ["Anna Müller", "Ben Schmidt", "Cem Yılmaz"])
    invoices = [create_invoice(conn, ledger_id=estate.ledger_id, tenant_id=t,
                               property_id=estate.property_id, unit_id=u,
                               issued_on=date(2026, 3, 1), due_on=date(2026, 3, 3),
                               currency="EUR", lines=[InvoiceLine("rent", amount)])
                for t, u, amount in zip(estate.tenant_ids, estate.unit_ids,
                                        (80000, 65000, 72000), strict=True)]
    return invoices, estate


def test_run_books_auto_matches_and_queues_the_rest(db_conn: psycopg.Connection) -> None:
    (anna, ben, _cem), estate = _invoices(db_conn)
    text = mt940("S1", ACCOUNT, "C0,00", "C2220,00", "260305", [
        Line("260305", "800,00", purpose=f"Miete {anna.creditor_reference}",
             name="Anna Mueller", iban=ANNA_IBAN),
        Line("260305", "650,00", purpose="Miete Maerz", name="SCHMITT BEN"),
        Line("260305", "770,00", purpose="Geschenk", name="Fremder"),
    ])
    import_bytes(db_conn, text.encode(), file="s1.sta")
    summary = service.run_reconciliation(db_conn, SETTINGS, ledger_code="P1")
    assert (summary.payments, summary.auto, summary.suggested, summary.unmatched) == (3, 1, 1, 1)
    assert open_amount(db_conn, anna.id) == 0
    assert [b.balance_minor for b in tenant_balances(db_conn, estate.tenant_ids[0])] == [0]
    # Learned: Anna pays from this IBAN.
    assert db_conn.execute("SELECT iban, tenant_id, source FROM payer_accounts").fetchall() == [
        (ANNA_IBAN, estate.tenant_ids[0], "auto")]
    [item] = service.review_queue(db_conn)
    assert item["rule"] == "payer_name" and item["proposal"][0]["invoice_id"] == ben.id
    kinds = sorted(a["kind"] for a in service.anomalies(db_conn))
    assert kinds == ["overdue_unpaid", "overdue_unpaid", "unmatched_incoming"]
    # A second run finds nothing new and books nothing twice.
    again = service.run_reconciliation(db_conn, SETTINGS, ledger_code="P1")
    assert (again.payments, again.auto) == (1, 0)  # only the unmatched one is retried
    assert verify_chain(db_conn).ok


def test_confirm_books_and_learns_then_override_splits(db_conn: psycopg.Connection) -> None:
    (anna, ben, cem), estate = _invoices(db_conn)
    text = mt940("S1", ACCOUNT, "C0,00", "C2170,00", "260305", [
        Line("260305", "650,00", purpose="Miete", name="Ben Schmitt",
             iban="DE75512108001245126199"),
        Line("260305", "1520,00", purpose="fuer Anna und Cem", name="Hausgemeinschaft"),
    ])
    import_bytes(db_conn, text.encode(), file="s1.sta")
    service.run_reconciliation(db_conn, SETTINGS, ledger_code="P1")
    [queued] = service.review_queue(db_conn)
    with pytest.raises(ConflictError):
        service.confirm(db_conn, 2, "manager")  # entry 2 was not matched at all
    service.confirm(db_conn, int(queued["bank_entry_id"]), "manager")
    assert open_amount(db_conn, ben.id) == 0
    assert ("DE75512108001245126199", estate.tenant_ids[1], "confirmed") in db_conn.execute(
        "SELECT iban, tenant_id, source FROM payer_accounts").fetchall()
    with pytest.raises(InvalidRequestError, match="add up to 150000"):
        service.override(db_conn, 2, [Allocation(anna.id, None, 80000),
                                      Allocation(cem.id, None, 70000)], "manager")
    service.override(db_conn, 2, [Allocation(anna.id, None, 80000),
                                  Allocation(cem.id, None, 72000)], "manager")
    assert (open_amount(db_conn, anna.id), open_amount(db_conn, cem.id)) == (0, 0)
    with pytest.raises(ConflictError, match="already booked"):
        service.override(db_conn, 2, [Allocation(anna.id, None, 152000)], "manager")
    assert verify_chain(db_conn).ok


def test_known_iban_from_a_mandate_and_a_returned_debit(db_conn: psycopg.Connection) -> None:
    (anna, _ben, _cem), estate = _invoices(db_conn)
    db_conn.execute("INSERT INTO mandates (tenant_id, reference, signed_on, iban, debtor_name) "
                    "VALUES (%s, 'M-ANNA-1', '2025-12-01', %s, 'Anna Müller')",
                    (estate.tenant_ids[0], ANNA_IBAN))
    first = mt940("S1", ACCOUNT, "C0,00", "C800,00", "260303", [
        Line("260303", "800,00", purpose="Lastschrift Miete", iban=ANNA_IBAN)])
    import_bytes(db_conn, first.encode(), file="s1.sta")
    service.run_reconciliation(db_conn, SETTINGS, ledger_code="P1")
    assert open_amount(db_conn, anna.id) == 0
    second = mt940("S2", ACCOUNT, "C800,00", "C0,00", "260310", [
        Line("260310", "800,00", credit=False, return_code="AC04", iban=ANNA_IBAN,
             purpose="Ruecklastschrift")], opening_day="260304")
    import_bytes(db_conn, second.encode(), file="s2.sta")
    service.run_reconciliation(db_conn, SETTINGS, ledger_code="P1")
    assert open_amount(db_conn, anna.id) == 80000
    [returned] = [a for a in service.anomalies(db_conn) if a["kind"] == "returned_direct_debit"]
    assert "AC04" in str(returned["reason"])
    assert [b.balance_minor for b in tenant_balances(db_conn, estate.tenant_ids[0])] == [80000]
    assert verify_chain(db_conn).ok
