"""Routes: dunning runs, the GiroCode of an invoice, the SEPA direct debit file."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DbConn, StaffUser
from api.dunning.girocode import invoice_qr
from api.dunning.sepa_files import Collection, Creditor, direct_debit_file
from api.dunning.service import run_dunning
from api.invoices.service import get_invoice, open_amount
from api.ledger.schemas import PathId

router = APIRouter(tags=["dunning"])


class DunningRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date


class NoticePublic(BaseModel):
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


class DirectDebitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    creditor_name: str = Field(min_length=1, max_length=70)
    creditor_iban: str
    creditor_bic: str
    creditor_id: str
    collect_on: date


@router.post("/dunning/runs", status_code=201)
def dunning_run(body: DunningRunCreate, conn: DbConn, user: StaffUser) -> list[NoticePublic]:
    return [NoticePublic(**dataclasses.asdict(n)) for n in run_dunning(conn, body.as_of)]


@router.get("/invoices/{invoice_id}/girocode.svg")
def girocode(invoice_id: PathId, payee_name: str, payee_iban: str, conn: DbConn,
             user: StaffUser) -> Response:
    invoice = get_invoice(conn, invoice_id)
    qr = invoice_qr(invoice, payee_name=payee_name, payee_iban=payee_iban,
                    open_minor=open_amount(conn, invoice_id))
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=4)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.post("/dunning/direct-debit-file")
def direct_debit(body: DirectDebitCreate, conn: DbConn, user: StaffUser) -> Response:
    """pain.008 for every open invoice of a tenant with a mandate (XSD-validated)."""
    rows = conn.execute(
        """SELECT DISTINCT ON (i.id) i.id, m.debtor_name, m.iban, m.bic, m.reference,
                  m.signed_on, i.creditor_reference, i.number,
                  NOT EXISTS (SELECT 1 FROM bank_entries e WHERE e.mandate_id = m.reference)
             FROM invoices i JOIN mandates m ON m.tenant_id = i.tenant_id
            WHERE i.kind = 'invoice' ORDER BY i.id, m.signed_on DESC""").fetchall()
    collections = []
    for inv_id, name, iban, bic, ref, signed, rf, number, first in rows:
        due = open_amount(conn, inv_id)
        if due > 0:
            collections.append(Collection(name, iban, bic, due, ref, signed, bool(first),
                                          f"{rf} {number}", number))
    xml = direct_debit_file(Creditor(body.creditor_name, body.creditor_iban, body.creditor_bic,
                                     body.creditor_id), collections, body.collect_on)
    return Response(xml, media_type="application/xml")
