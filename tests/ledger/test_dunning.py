"""Dunning: levels in order, fees and § 288 interest booked, 滞纳金 per contract, GiroCode,
SEPA files valid against their XSD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from lxml import etree

from api.dunning.girocode import epc_payload, invoice_qr
from api.dunning.levels import DunningLevel, DunningPolicy
from api.dunning.rates import base_rates, default_interest, late_fee
from api.dunning.sepa_files import (
    Collection,
    Creditor,
    Transfer,
    credit_transfer_file,
    direct_debit_file,
)
from api.dunning.service import run_dunning
from api.errors import InvalidRequestError
from api.invoices.service import InvoiceLine, create_invoice, open_amount
from api.ledger.service import tenant_balances, verify_chain
from tests.ledger.seed import seed_estate


def test_base_rate_table_is_the_shared_reference_unchanged() -> None:
    from pathlib import Path

    ours = Path("api/dunning/data/de_late_payment.csv").read_bytes()
    assert ours == Path("/work/shared/reference/de_late_payment.csv").read_bytes()
    assert [str(r.valid_from) for r in base_rates()][:2] == ["2023-01-01", "2023-07-01"]


def test_288_interest_follows_the_base_rate_change_day_by_day() -> None:
    # 1000.00 EUR due 2025-06-15, paid 2025-07-14: 15 days at 2.27+5 %, 14 days at 1.27+5 %.
    consumer = default_interest(100000, date(2025, 6, 15), date(2025, 7, 14))
    # 100000 * (0.0727 * 15 + 0.0627 * 14) / 365 = 539.26...
    assert consumer.interest_minor == 539 and consumer.flat_fee_minor == 0
    business = default_interest(100000, date(2025, 6, 15), date(2025, 7, 14), "business")
    # 100000 * (0.1127 * 15 + 0.1027 * 14) / 365 = 857.07...
    assert business.interest_minor == 857 and business.flat_fee_minor == 4000
    late = default_interest(100000, date(2026, 6, 30), date(2026, 7, 10))
    assert any("UNVERIFIED" in w for w in late.warnings)
    with pytest.raises(InvalidRequestError, match="no base rate"):
        default_interest(100000, date(2022, 12, 1), date(2023, 1, 5))


def test_cn_late_fee_is_a_daily_rate_of_the_contract() -> None:
    assert late_fee(123456, date(2026, 3, 1), date(2026, 3, 11), Decimal("0.003")) == 3704
    assert late_fee(123456, date(2026, 3, 1), date(2026, 2, 11), Decimal("0.003")) == 0


def test_policy_refuses_levels_out_of_order() -> None:
    with pytest.raises(InvalidRequestError, match="numbered"):
        DunningPolicy(levels=(DunningLevel(2, "x", 7, 0, 7),))


def test_dunning_run_issues_levels_in_order_and_books_fees(db_conn: psycopg.Connection) -> None:
    estate = seed_estate(db_conn, ["Anna Müller", "王芳"])
    anna, wang = estate.tenant_ids
    invoices = [create_invoice(db_conn, ledger_id=estate.ledger_id, tenant_id=t,
                               property_id=estate.property_id, unit_id=u,
                               issued_on=date(2025, 6, 1), due_on=date(2025, 6, 15),
                               currency="EUR", lines=[InvoiceLine("rent", 100000)])
                for t, u in zip(estate.tenant_ids, estate.unit_ids, strict=True)]
    occupancy = db_conn.execute("SELECT id FROM occupancies WHERE tenant_id = %s",
                                (wang,)).fetchone()
    assert occupancy is not None
    db_conn.execute("INSERT INTO late_fee_terms (occupancy_id, daily_rate) VALUES (%s, 0.003)",
                    (occupancy[0],))
    assert run_dunning(db_conn, date(2025, 6, 20)) == []  # not 7 days overdue yet
    first = run_dunning(db_conn, date(2025, 6, 22))
    assert [(n.level_name, n.fee_minor) for n in first] == [("reminder", 0)] * 2
    assert run_dunning(db_conn, date(2025, 6, 23)) == []  # nothing new due
    second = {n.invoice_id: n for n in run_dunning(db_conn, date(2025, 7, 14))}
    anna_notice, wang_notice = second[invoices[0].id], second[invoices[1].id]
    assert (anna_notice.level_name, anna_notice.fee_minor) == ("first notice", 500)
    # Interest to 2025-07-14: 539 in total, of which the reminder already booked 7 days.
    reminder_interest = default_interest(100000, date(2025, 6, 15), date(2025, 6, 22))
    assert anna_notice.interest_minor == 539 - reminder_interest.interest_minor
    assert wang_notice.interest_minor == 100000 * 3 // 1000 * 29 - 100000 * 3 // 1000 * 7
    assert "contract late fee" in wang_notice.interest_basis
    [balance] = tenant_balances(db_conn, anna)
    assert balance.balance_minor == 100000 + 500 + 539
    assert open_amount(db_conn, invoices[0].id) == 100000  # fees are not the invoice
    assert verify_chain(db_conn).ok


def test_girocode_payload_and_qr() -> None:
    payload = epc_payload(name="Hausverwaltung Lind GmbH", iban="DE02 1203 0000 0000 2020 51",
                          amount_minor=80000, reference="RF28RE20260000123")
    assert payload.split("\n") == ["BCD", "002", "1", "SCT", "", "Hausverwaltung Lind GmbH",
                                   "DE02120300000000202051", "EUR800.00", "",
                                   "RF28RE20260000123"]
    with pytest.raises(InvalidRequestError, match="IBAN"):
        epc_payload(name="x", iban="DE02120300000000202052", amount_minor=1)
    from api.invoices.service import Invoice

    invoice = Invoice(1, "RE2026-0000123", "invoice", 1, None, 1, date(2026, 3, 1),
                      date(2026, 3, 3), "EUR", 80000, "RF28RE20260000123", 1)
    qr = invoice_qr(invoice, payee_name="Lind", payee_iban="DE02120300000000202051",
                    open_minor=80000)
    assert qr.error == "M" and not qr.is_micro


def test_sepa_files_validate_and_carry_mandates() -> None:
    creditor = Creditor("Hausverwaltung Lind GmbH", "DE02120300000000202051", "BYLADEM1001",
                        "DE98ZZZ09999999999")
    xml = direct_debit_file(creditor, [Collection(
        "Anna Müller", "DE89370400440532013000", None, 80000, "M-ANNA-1", date(2025, 12, 1),
        True, "Miete RF28RE20260000123", "RE2026-0000123")], date(2026, 4, 3))
    doc = etree.fromstring(xml)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
    assert doc.findtext(".//p:MndtId", namespaces=ns) == "M-ANNA-1"
    assert doc.findtext(".//p:DtOfSgntr", namespaces=ns) == "2025-12-01"
    assert doc.findtext(".//p:SeqTp", namespaces=ns) == "FRST"
    assert doc.find(".//p:InstdAmt", namespaces=ns).text == "800.00"
    transfer = credit_transfer_file("Lind", "DE02120300000000202051", "BYLADEM1001",
                                    [Transfer("Anna", "DE89370400440532013000", None, 5000,
                                              "Guthaben", "REF-1")], date(2026, 4, 3))
    assert b"pain.001.001.03" in transfer
    with pytest.raises(InvalidRequestError, match="XSD"):
        direct_debit_file(creditor, [Collection(
            "Anna", "DE89370400440532013000", None, 80000, "M 1 !!!" * 10, date(2025, 12, 1),
            False, "x", "y")], date(2026, 4, 3))
