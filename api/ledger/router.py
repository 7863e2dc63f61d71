"""Routes: ledger transactions, reversals, balances, statements of account, chain check,
invoices and credit notes.  Writes take an optional ``Idempotency-Key`` header."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Query

from api.deps import DbConn, StaffUser
from api.invoices import service as invoices
from api.ledger import service
from api.ledger.idempotency import run_idempotent
from api.ledger.schemas import (
    BIGINT_MAX,
    BalancePublic,
    ChainReportPublic,
    CreditNoteCreate,
    InvoiceCreate,
    InvoicePublic,
    PathId,
    ReversalCreate,
    StatementPublic,
    TransactionCreate,
    TransactionPublic,
)

router = APIRouter(tags=["ledger"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def _idempotent(conn: DbConn, scope: str, key: str | None, body: object, action):  # type: ignore[no-untyped-def]
    if key is None:
        return action()
    result, _replayed = run_idempotent(conn, scope, key, body, action)
    return result


def _posted(p: service.PostedTransaction) -> dict[str, object]:
    return {"id": p.id, "seq": p.seq, "hash": p.hash.hex()}


@router.post("/ledger/transactions", status_code=201)
def post_transaction(body: TransactionCreate, conn: DbConn, user: StaffUser,
                     idempotency_key: IdempotencyKey = None) -> TransactionPublic:
    def action() -> dict[str, object]:
        return _posted(service.post_transaction(conn, body.ledger_id, service.NewTransaction(
            booked_on=body.booked_on, kind=body.kind, description=body.description,
            reference=body.reference,
            postings=[service.Posting(p.account_id, p.amount_minor, p.currency)
                      for p in body.postings])))

    return TransactionPublic(**_idempotent(conn, "ledger.transactions", idempotency_key,
                                           body.model_dump(mode="json"), action))


@router.post("/ledger/transactions/{transaction_id}/reversal", status_code=201)
def reverse(transaction_id: PathId, body: ReversalCreate, conn: DbConn, user: StaffUser,
            idempotency_key: IdempotencyKey = None) -> TransactionPublic:
    def action() -> dict[str, object]:
        return _posted(service.reverse_transaction(conn, transaction_id, body.booked_on,
                                                   body.description))

    return TransactionPublic(**_idempotent(
        conn, "ledger.reversal", idempotency_key,
        {"transaction_id": transaction_id, **body.model_dump(mode="json")}, action))


@router.get("/tenants/{tenant_id}/balances")
def balances(tenant_id: PathId, conn: DbConn, user: StaffUser,
             at: date | None = None) -> list[BalancePublic]:
    return [BalancePublic(**dataclasses.asdict(b))
            for b in service.tenant_balances(conn, tenant_id, at)]


@router.get("/tenants/{tenant_id}/statement")
def statement(tenant_id: PathId, conn: DbConn, user: StaffUser,
              date_from: date | None = None, date_to: date | None = None) -> StatementPublic:
    return StatementPublic(**dataclasses.asdict(
        service.statement_of_account(conn, tenant_id, date_from, date_to)))


@router.get("/ledger/verify")
def verify(conn: DbConn, user: StaffUser,
           ledger_id: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
           ) -> ChainReportPublic:
    return ChainReportPublic(**dataclasses.asdict(service.verify_chain(conn, ledger_id)))


def _invoice_public(conn: DbConn, invoice: invoices.Invoice) -> dict[str, object]:
    data = dataclasses.asdict(invoice)
    data["issued_on"] = invoice.issued_on.isoformat()
    data["due_on"] = invoice.due_on.isoformat()
    data["open_minor"] = (invoices.open_amount(conn, invoice.id) if invoice.kind == "invoice"
                          else None)
    return data


@router.post("/invoices", status_code=201)
def create_invoice(body: InvoiceCreate, conn: DbConn, user: StaffUser,
                   idempotency_key: IdempotencyKey = None) -> InvoicePublic:
    def action() -> dict[str, object]:
        return _invoice_public(conn, invoices.create_invoice(
            conn, ledger_id=body.ledger_id, tenant_id=body.tenant_id,
            property_id=body.property_id, unit_id=body.unit_id, issued_on=body.issued_on,
            due_on=body.due_on, currency=body.currency, source=body.source,
            lines=[invoices.InvoiceLine(x.cost_item, x.amount_minor, x.description)
                   for x in body.lines]))

    return InvoicePublic(**_idempotent(conn, "invoices", idempotency_key,
                                       body.model_dump(mode="json"), action))


@router.get("/invoices/{invoice_id}")
def read_invoice(invoice_id: PathId, conn: DbConn, user: StaffUser) -> InvoicePublic:
    return InvoicePublic(**_invoice_public(conn, invoices.get_invoice(conn, invoice_id)))


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201)
def credit_note(invoice_id: PathId, body: CreditNoteCreate, conn: DbConn, user: StaffUser,
                idempotency_key: IdempotencyKey = None) -> InvoicePublic:
    def action() -> dict[str, object]:
        return _invoice_public(conn, invoices.create_credit_note(
            conn, invoice_id, body.amount_minor, body.issued_on, body.reason))

    return InvoicePublic(**_idempotent(
        conn, "invoices.credit_notes", idempotency_key,
        {"invoice_id": invoice_id, **body.model_dump(mode="json")}, action))
