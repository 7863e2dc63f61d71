"""Routes: bank statement upload, reconciliation runs, review queue, confirm/override,
anomalies.  Uploads and runs take an optional ``Idempotency-Key`` header."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from api.bank.importer import import_bytes
from api.bank.statement import MAX_STATEMENT_BYTES
from api.deps import DbConn, StaffUser
from api.errors import InvalidRequestError
from api.ledger.idempotency import run_idempotent
from api.ledger.schemas import PathId
from api.reconciliation import service
from api.reconciliation.matcher import Allocation, MatchSettings
from api.reconciliation.schemas import (
    AnomalyPublic,
    DecisionPublic,
    ImportPublic,
    OverrideCreate,
    RunCreate,
    RunPublic,
)

router = APIRouter(tags=["reconciliation"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.post("/bank/statements", status_code=201)
async def upload_statement(request: Request, conn: DbConn, user: StaffUser,
                           filename: str = "upload",
                           idempotency_key: IdempotencyKey = None) -> ImportPublic:
    """Import a bank file sent as the raw request body (format detected from content)."""
    data = await request.body()
    if len(data) > MAX_STATEMENT_BYTES:
        raise InvalidRequestError(f"file is {len(data)} bytes, over the limit of "
                                  f"{MAX_STATEMENT_BYTES} bytes")

    def action() -> dict[str, object]:
        return import_bytes(conn, data, file=filename).to_dict()

    if idempotency_key is None:
        result = await run_in_threadpool(action)
    else:
        body = {"sha256": hashlib.sha256(data).hexdigest(), "filename": filename}
        result, _ = await run_in_threadpool(run_idempotent, conn, "bank.statements",
                                            idempotency_key, body, action)
    return ImportPublic(**result)


@router.post("/reconciliation/runs", status_code=201)
def run(body: RunCreate, conn: DbConn, user: StaffUser,
        idempotency_key: IdempotencyKey = None) -> RunPublic:
    def action() -> dict[str, object]:
        settings = MatchSettings(auto_threshold=body.auto_threshold,
                                 tolerance_minor=body.tolerance_minor,
                                 name_min_score=body.name_min_score, as_of=date.today())
        summary = service.run_reconciliation(conn, settings, body.ledger_code)
        return {
            "payments": summary.payments, "auto": summary.auto,
            "suggested": summary.suggested, "unmatched": summary.unmatched,
            "anomalies": summary.anomalies}

    if idempotency_key is None:
        return RunPublic(**action())
    result, _ = run_idempotent(conn, "reconciliation.runs", idempotency_key,
                               body.model_dump(mode="json"), action)
    return RunPublic(**result)


@router.get("/reconciliation/review")
def review(conn: DbConn, user: StaffUser) -> list[dict[str, object]]:
    return service.review_queue(conn)


@router.post("/reconciliation/entries/{entry_id}/confirm")
def confirm(entry_id: PathId, conn: DbConn, user: StaffUser) -> DecisionPublic:
    return DecisionPublic(bank_entry_id=entry_id,
                          match_ids=service.confirm(conn, entry_id, user.name))


@router.post("/reconciliation/entries/{entry_id}/override")
def override(entry_id: PathId, body: OverrideCreate, conn: DbConn,
             user: StaffUser) -> DecisionPublic:
    allocations = [Allocation(a.invoice_id, a.tenant_id, a.amount_minor)
                   for a in body.allocations]
    return DecisionPublic(bank_entry_id=entry_id,
                          match_ids=service.override(conn, entry_id, allocations, user.name))


@router.get("/reconciliation/anomalies")
def list_anomalies(conn: DbConn, user: StaffUser) -> list[AnomalyPublic]:
    return [AnomalyPublic(**a) for a in service.anomalies(conn)]  # type: ignore[arg-type]
