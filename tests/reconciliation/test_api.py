"""The ledger, bank and reconciliation routes over HTTP, with a real signed-in admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.settings import AuthSettings
from api.dunning.router import router as dunning_router
from api.invoices.service import InvoiceLine, create_invoice
from api.ledger.router import router as ledger_router
from api.reconciliation.router import router as reconciliation_router
from tests.auth.conftest import CHEAP_HASH, SECRET, bearer, make_user
from tests.ledger.seed import seed_estate
from tests.reconciliation.mt940_text import Line, mt940

SETTINGS = AuthSettings(signing_secret=SECRET, password_hash=CHEAP_HASH,
                        expensive_per_window=1000)


@pytest.fixture
def api(db_dsn: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    app = create_app(db_dsn, SECRET, auth=SETTINGS)
    for router in (ledger_router, reconciliation_router, dunning_router):
        app.include_router(router)
    admin = make_user(db_dsn, "admin@example.org", ("admin", {}))
    with TestClient(app) as client:
        yield client, bearer(db_dsn, SETTINGS, admin)


def test_upload_reconcile_review_and_statement_over_http(
        db_dsn: str, api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        estate = seed_estate(conn, ["Anna Müller", "Ben Schmidt"])
        anna = create_invoice(conn, ledger_id=estate.ledger_id, tenant_id=estate.tenant_ids[0],
                              property_id=estate.property_id, unit_id=estate.unit_ids[0],
                              issued_on=date(2026, 3, 1), due_on=date(2026, 3, 3),
                              currency="EUR", lines=[InvoiceLine("rent", 80000)])
        ben = create_invoice(conn, ledger_id=estate.ledger_id, tenant_id=estate.tenant_ids[1],
                             property_id=estate.property_id, unit_id=estate.unit_ids[1],
                             issued_on=date(2026, 3, 1), due_on=date(2026, 3, 3),
                             currency="EUR", lines=[InvoiceLine("rent", 65000)])
    assert client.post("/reconciliation/runs", json={}).status_code == 401
    text = mt940("S1", "DE02120300000000202051", "C0,00", "C1450,00", "260305", [
        Line("260305", "800,00", purpose=anna.number),
        Line("260305", "650,00", purpose="Miete", name="Ben Schmitt")]).encode()
    headers = {**auth, "Idempotency-Key": "upload-1"}
    first = client.post("/bank/statements?filename=s1.sta", content=text, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["entries_added"] == 2
    replay = client.post("/bank/statements?filename=s1.sta", content=text, headers=headers)
    assert replay.json() == first.json()
    other = client.post("/bank/statements?filename=s1.sta", content=text + b"\n",
                        headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    broken = client.post("/bank/statements?filename=bad.sta", content=b":20:X\n:61:oops\n",
                         headers=auth)
    assert broken.status_code == 422 and "bad.sta" in broken.json()["detail"]
    typo = client.post("/reconciliation/runs", json={"treshold": 0.5}, headers=auth)
    assert typo.status_code == 422  # extra="forbid": a misspelt field is refused
    ran = client.post("/reconciliation/runs", json={"ledger_code": "P1"}, headers=auth)
    assert ran.status_code == 201 and ran.json()["auto"] == 1, ran.text
    [queued] = client.get("/reconciliation/review", headers=auth).json()
    assert queued["rule"] == "payer_name" and queued["proposal"][0]["invoice_id"] == ben.id
    entry = queued["bank_entry_id"]
    bad_split = client.post(f"/reconciliation/entries/{entry}/override", headers=auth,
                            json={"allocations": [{"amount_minor": 65000}]})
    assert bad_split.status_code == 422
    decided = client.post(f"/reconciliation/entries/{entry}/confirm", headers=auth)
    assert decided.status_code == 200, decided.text
    assert client.post(f"/reconciliation/entries/{entry}/confirm",
                       headers=auth).status_code == 409
    statement = client.get(f"/tenants/{estate.tenant_ids[0]}/statement", headers=auth).json()
    assert [(line["kind"], line["balance_minor"]) for line in statement["lines"]] == [
        ("invoice", 80000), ("payment", 0)]
    balances = client.get(f"/tenants/{estate.tenant_ids[1]}/balances", headers=auth).json()
    assert [b["balance_minor"] for b in balances] == [0]
    assert client.get("/ledger/verify", headers=auth).json()["ok"] is True
    # Anomalies are those of the run: Ben's invoice was still unpaid then.
    anomalies = client.get("/reconciliation/anomalies", headers=auth).json()
    assert [(a["kind"], a["invoice_id"]) for a in anomalies] == [("overdue_unpaid", ben.id)]
    svg = client.get(f"/invoices/{anna.id}/girocode.svg", headers=auth,
                     params={"payee_name": "Lind", "payee_iban": "DE02120300000000202051"})
    assert svg.status_code == 422  # fully paid: nothing left to pay by QR


def test_posting_over_http_is_idempotent_and_checked(
        db_dsn: str, api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        estate = seed_estate(conn, ["Anna"])
        from api.ledger.service import ensure_account

        bank = ensure_account(conn, estate.ledger_id, "bank", iban="DE02120300000000202051")
        suspense = ensure_account(conn, estate.ledger_id, "suspense")
    body = {"ledger_id": estate.ledger_id, "booked_on": "2026-03-05", "kind": "payment",
            "postings": [{"account_id": bank, "amount_minor": 500, "currency": "EUR"},
                         {"account_id": suspense, "amount_minor": -500, "currency": "EUR"}]}
    headers = {**auth, "Idempotency-Key": "tx-1"}
    first = client.post("/ledger/transactions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert client.post("/ledger/transactions", json=body, headers=headers).json() == first.json()
    body["postings"][0]["amount_minor"] = 501
    assert client.post("/ledger/transactions", json=body, headers=headers).status_code == 409
    unbalanced = client.post("/ledger/transactions", json=body, headers=auth)
    assert unbalanced.status_code == 422 and "sum to 1" in unbalanced.json()["detail"]
    reversed_ = client.post(f"/ledger/transactions/{first.json()['id']}/reversal",
                            json={"booked_on": "2026-03-06"}, headers=auth)
    assert reversed_.status_code == 201
    again = client.post(f"/ledger/transactions/{first.json()['id']}/reversal",
                        json={"booked_on": "2026-03-06"}, headers=auth)
    assert again.status_code == 409


def test_ids_beyond_bigint_are_422_not_500(api: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = api
    huge = 2**63
    assert client.get(f"/invoices/{huge}", headers=auth).status_code == 422
    assert client.post(f"/reconciliation/entries/{huge}/confirm",
                       headers=auth).status_code == 422
    body = {"ledger_id": 1, "booked_on": "2026-03-05", "kind": "payment",
            "postings": [{"account_id": huge, "amount_minor": 1, "currency": "EUR"},
                         {"account_id": 1, "amount_minor": -1, "currency": "EUR"}]}
    assert client.post("/ledger/transactions", json=body, headers=auth).status_code == 422
    assert client.get("/invoices/999", headers=auth).status_code == 404
