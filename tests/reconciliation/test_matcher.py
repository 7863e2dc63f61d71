"""Matching rules one by one, 1:N, N:1, partial, tolerance, returns and anomalies."""

from __future__ import annotations

from datetime import date

from api.invoices.service import creditor_reference_for
from api.reconciliation.matcher import (
    Matcher,
    MatchSettings,
    OpenInvoice,
    Payment,
    naive_match,
)

NAMES = {1: "Anna Müller", 2: "Ben Schmidt", 3: "Cem Yılmaz"}


def _invoice(inv_id: int, tenant: int, amount: int, month: int = 3) -> OpenInvoice:
    number = f"RE2026-{inv_id:07d}"
    return OpenInvoice(inv_id, number, tenant, amount, "EUR", date(2026, month, 3),
                       creditor_reference_for(number))


def _book(day: int = 5, **kw: object) -> Payment:
    base: dict[str, object] = {"id": 1, "amount_minor": 0, "currency": "EUR",
                               "booking_date": date(2026, 3, day)}
    base.update(kw)
    return Payment(**base)  # type: ignore[arg-type]


def _matcher(invoices: list[OpenInvoice], **kw: object) -> Matcher:
    return Matcher(invoices, NAMES, **kw)  # type: ignore[arg-type]


def test_creditor_reference_matches_exactly_even_with_spaces_in_text() -> None:
    inv = _invoice(7, 1, 80000)
    spaced = " ".join(inv.creditor_reference[i:i + 4]
                      for i in range(0, len(inv.creditor_reference), 4))
    run = _matcher([inv, _invoice(8, 1, 80000)]).run(
        [_book(id=1, amount_minor=80000, remittance=f"Miete {spaced}")])
    [match] = run.matches
    assert (match.rule, match.confidence, match.status) == ("creditor_reference", 1.0, "auto")
    assert [(a.invoice_id, a.amount_minor) for a in match.allocations] == [(7, 80000)]


def test_structured_reference_wins_over_other_text() -> None:
    inv = _invoice(7, 1, 80000)
    run = _matcher([inv, _invoice(9, 2, 80000)]).run(
        [_book(amount_minor=80000, creditor_reference=inv.creditor_reference,
               remittance="RE2026-0000009")])
    assert run.matches[0].allocations[0].invoice_id == 7


def test_invoice_number_with_spacing_and_two_invoices_in_text_order() -> None:
    invoices = [_invoice(11, 1, 30000), _invoice(12, 1, 20000, month=2)]
    run = _matcher(invoices).run([_book(
        amount_minor=50000, remittance="Rechnungen RE 2026 - 000 0011 und RE2026/0000012")])
    [match] = run.matches
    assert match.rule == "invoice_number" and match.status == "auto"
    assert [(a.invoice_id, a.amount_minor) for a in match.allocations] == [(11, 30000),
                                                                         (12, 20000)]


def test_invoice_number_with_a_typo_needs_the_exact_amount() -> None:
    invoices = [_invoice(123, 1, 45600), _invoice(124, 2, 99900)]
    run = _matcher(invoices).run([
        _book(id=1, amount_minor=45600, remittance="RE2026-0000132"),  # digits swapped
        _book(id=2, amount_minor=10000, remittance="RE2026-0000142")])
    by_payment = {m.payment_id: m for m in run.matches}
    assert by_payment[1].rule == "invoice_number_typo"
    assert by_payment[1].allocations[0].invoice_id == 123
    assert 2 in run.unmatched


def test_debtor_number_pays_oldest_invoices_first() -> None:
    invoices = [_invoice(21, 2, 40000, month=3), _invoice(22, 2, 40000, month=1),
                _invoice(23, 2, 40000, month=2)]
    run = _matcher(invoices, debtor_numbers={"D000002": 2}).run(
        [_book(amount_minor=80000, remittance="Kundennr. D-000002 Miete")])
    [match] = run.matches
    assert match.rule == "debtor_number"
    assert [a.invoice_id for a in match.allocations] == [22, 23]


def test_known_payer_iban_with_exact_amount_and_partial() -> None:
    invoices = [_invoice(31, 3, 70000, month=1), _invoice(32, 3, 65000, month=2)]
    matcher = _matcher(invoices, payer_ibans={"DE89 3704 0044 0532 0130 00": {3}})
    run = matcher.run([
        _book(id=1, day=5, amount_minor=65000, counterparty_account="DE89370400440532013000",
              remittance="Miete"),
        _book(id=2, day=6, amount_minor=30000, counterparty_account="DE89370400440532013000",
              remittance="Miete")])
    first, second = run.matches
    assert (first.rule, first.status, first.allocations[0].invoice_id) == (
        "payer_iban", "auto", 32)
    assert second.rule == "payer_iban" and second.status == "suggested"  # partial: review
    assert second.allocations[0].invoice_id == 31 and second.confidence < 0.9


def test_payer_name_fuzzy_with_exact_amount_goes_to_review_with_suggestions() -> None:
    invoices = [_invoice(41, 1, 55500), _invoice(42, 2, 55500)]
    run = _matcher(invoices).run([_book(amount_minor=55500, counterparty_name="MUELLER ANNA",
                                        remittance="Miete")])
    [match] = run.matches
    assert match.rule == "payer_name"
    assert match.allocations[0].invoice_id == 41
    assert match.suggestions and match.suggestions[0]["invoice_id"] == 41
    exact = _matcher([_invoice(41, 1, 55500)]).run(
        [_book(amount_minor=55500, counterparty_name="Anna Müller")])
    assert exact.matches[0].status == "auto"


def test_several_payments_for_one_invoice_and_then_a_duplicate() -> None:
    inv = _invoice(51, 1, 100000)
    run = _matcher([inv]).run([
        _book(id=1, day=3, amount_minor=60000, remittance=inv.number),
        _book(id=2, day=4, amount_minor=40000, remittance=inv.number),
        _book(id=3, day=5, amount_minor=40000, remittance=inv.number)])
    one, two, three = run.matches
    assert one.allocations[0].amount_minor == 60000
    assert two.allocations[0].amount_minor == 40000 and inv.open_minor == 0
    assert three.status == "suggested" and three.allocations[0].invoice_id is None
    kinds = [a.kind for a in run.anomalies]
    assert "duplicate_payment" in kinds
    assert kinds.count("amount_mismatch") == 1  # the first, partial payment


def test_overpayment_becomes_credit_balance() -> None:
    inv = _invoice(61, 2, 30000)
    run = _matcher([inv]).run([_book(amount_minor=35000,
                                     creditor_reference=inv.creditor_reference)])
    allocations = run.matches[0].allocations
    assert [(a.invoice_id, a.amount_minor) for a in allocations] == [(61, 30000), (None, 5000)]
    assert any(a.kind == "overpayment" and a.tenant_id == 2 for a in run.anomalies)


def test_tolerance_settles_small_differences() -> None:
    inv = _invoice(71, 1, 50000)
    run = _matcher([inv], settings=MatchSettings(tolerance_minor=200)).run(
        [_book(amount_minor=49900, remittance=inv.number)])
    assert inv.open_minor == 0
    assert [a.kind for a in run.anomalies] == ["amount_mismatch"]
    strict = _invoice(72, 1, 50000)
    _matcher([strict]).run([_book(amount_minor=49900, remittance=strict.number)])
    assert strict.open_minor == 100


def test_returned_direct_debit_reopens_the_invoice_and_reports_fees() -> None:
    inv = _invoice(81, 1, 5000)
    run = _matcher([inv]).run([
        _book(id=1, day=2, amount_minor=5000, creditor_reference=inv.creditor_reference,
              end_to_end_id="E2E-81", mandate_id="M-1"),
        _book(id=2, day=9, amount_minor=5300, credit_debit="DBIT", return_reason="MS03",
              end_to_end_id="E2E-81", charges_minor=300)])
    ret = run.matches[1]
    assert ret.rule == "return"
    assert [(a.invoice_id, a.amount_minor) for a in ret.allocations] == [(81, -5000)]
    assert inv.open_minor == 5000
    [anomaly] = [a for a in run.anomalies if a.kind == "returned_direct_debit"]
    assert "MS03" in anomaly.reason and "300" in anomaly.reason


def test_unmatched_money_and_overdue_invoices_are_anomalies() -> None:
    invoices = [_invoice(91, 1, 10000, month=1), _invoice(92, 2, 10000, month=4)]
    run = _matcher(invoices, settings=MatchSettings(as_of=date(2026, 3, 31))).run(
        [_book(amount_minor=777, counterparty_name="Unknown GmbH", remittance="Spende")])
    kinds = sorted((a.kind, a.invoice_id) for a in run.anomalies)
    assert kinds == [("overdue_unpaid", 91), ("unmatched_incoming", None)]


def test_indexed_matcher_agrees_with_the_naive_scan() -> None:
    invoices = [_invoice(i, 1 + i % 3, 10000 + i) for i in range(1, 200)]
    payments = [_book(id=i, amount_minor=10000 + i, remittance=f"RE2026-{i:07d}")
                for i in range(1, 200, 7)]
    naive = naive_match(payments, [_invoice(i, 1 + i % 3, 10000 + i) for i in range(1, 200)])
    run = _matcher(invoices).run(payments)
    assert {m.payment_id: m.allocations[0].invoice_id for m in run.matches} == naive
