"""Role × route matrix, generated from the permission table, against the real database.

For every route in ``api.permissions.ROUTES`` and every role (at the scope
levels the roles are normally held at), a user whose scope contains the object
and a user whose scope does not get the status the table says: the success
status when allowed, 403 for a wrong action on a visible object, 404 for an
object outside the scope.  Requests go through the app, so row-level security
is on (the app runs as meterbill_app).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.settings import AuthSettings
from api.catalog.service import BuildingSpec, UnitSpec, register_building
from api.permissions import ROUTES, RoutePermission, allowed_levels
from meterbill.config import DemoSettings, Settings
from meterbill.demo import run_demo
from tests.auth.conftest import bearer, make_user

PERIOD = {"period": "2026-03"}


@dataclass(frozen=True)
class Ids:
    property_id: int
    building_id: int
    unit_id: int  # the unit the unit-level users hold


@dataclass(frozen=True)
class MatrixWorld:
    dsn: str
    inside: Ids
    outside: Ids  # another property: outside every scope but the installation's


@pytest.fixture(scope="module")
def world(auth_dsn: str) -> MatrixWorld:
    settings = Settings(demo=DemoSettings(units=3, interval_minutes=720, period="2026-03"))
    run = run_demo(settings, auth_dsn, quiet=True)
    import psycopg

    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        other = register_building(conn, BuildingSpec(
            "OTHER", "Other property", "X", "Elsewhere", "", "Europe/Berlin",
            (UnitSpec("X1", "", Decimal(40), Decimal(40), 1, "OTHER-X1"),), "OTHER-MAIN",
            Decimal("30"), date(2026, 1, 1)))
    units = sorted(run.building.unit_ids.values())
    return MatrixWorld(
        auth_dsn,
        Ids(run.building.property_id, run.building.building_id, units[1]),
        Ids(other.property_id, other.building_id, other.unit_ids["X1"]))


Request = tuple[str, str, dict[str, str] | None, dict[str, Any] | None]
_emails = itertools.count()

# One request per route; ``ids`` is the object the request is about.
CASES: dict[tuple[str, str], Callable[[Ids], Request]] = {
    ("GET", "/units"): lambda ids: ("GET", "/units", None, None),
    ("GET", "/units/{unit_id}/readings"):
        lambda ids: ("GET", f"/units/{ids.unit_id}/readings", PERIOD, None),
    ("GET", "/units/{unit_id}/consumption"):
        lambda ids: ("GET", f"/units/{ids.unit_id}/consumption", PERIOD, None),
    ("GET", "/units/{unit_id}/bill"):
        lambda ids: ("GET", f"/units/{ids.unit_id}/bill", PERIOD, None),
    ("GET", "/buildings/{building_id}/bills"):
        lambda ids: ("GET", f"/buildings/{ids.building_id}/bills", PERIOD, None),
    ("GET", "/auth/me"): lambda ids: ("GET", "/auth/me", None, None),
    ("POST", "/auth/logout"): lambda ids: ("POST", "/auth/logout", None, None),
    ("POST", "/auth/logout-all"): lambda ids: ("POST", "/auth/logout-all", None, None),
    ("POST", "/auth/totp/enroll"): lambda ids: ("POST", "/auth/totp/enroll", None, None),
    # Runs after the enrol case (table order): the permission passes, the wrong code is 422.
    ("POST", "/auth/totp/confirm"):
        lambda ids: ("POST", "/auth/totp/confirm", None, {"code": "123456"}),
    ("POST", "/invitations"): lambda ids: ("POST", "/invitations", None, {
        "email": f"invitee{next(_emails)}@example.org", "role": "tenant",
        "unit_id": ids.unit_id}),
    ("GET", "/audit"): lambda ids: ("GET", "/audit", None, None),
    # Books (installation-wide staff only). For an allowed caller these requests name
    # no existing object or carry an empty body, so the answer after the permission
    # check is the route's own 404/422 (listed in SUCCESS); everyone else gets 403.
    ("POST", "/ledger/transactions"): lambda ids: ("POST", "/ledger/transactions", None, {}),
    ("POST", "/ledger/transactions/{transaction_id}/reversal"):
        lambda ids: ("POST", "/ledger/transactions/999999999/reversal", None, {}),
    ("GET", "/ledger/verify"): lambda ids: ("GET", "/ledger/verify", None, None),
    ("GET", "/tenants/{tenant_id}/balances"):
        lambda ids: ("GET", "/tenants/999999999/balances", None, None),
    ("GET", "/tenants/{tenant_id}/statement"):
        lambda ids: ("GET", "/tenants/999999999/statement", None, None),
    ("POST", "/invoices"): lambda ids: ("POST", "/invoices", None, {}),
    ("GET", "/invoices/{invoice_id}"): lambda ids: ("GET", "/invoices/999999999", None, None),
    ("POST", "/invoices/{invoice_id}/credit-notes"):
        lambda ids: ("POST", "/invoices/999999999/credit-notes", None, {}),
    ("GET", "/invoices/{invoice_id}/girocode.svg"):
        lambda ids: ("GET", "/invoices/999999999/girocode.svg", None, None),
    ("POST", "/bank/statements"): lambda ids: ("POST", "/bank/statements", None, {}),
    ("POST", "/reconciliation/runs"): lambda ids: ("POST", "/reconciliation/runs", None, {}),
    ("GET", "/reconciliation/review"): lambda ids: ("GET", "/reconciliation/review", None, None),
    ("POST", "/reconciliation/entries/{entry_id}/confirm"):
        lambda ids: ("POST", "/reconciliation/entries/999999999/confirm", None, {}),
    ("POST", "/reconciliation/entries/{entry_id}/override"):
        lambda ids: ("POST", "/reconciliation/entries/999999999/override", None, {}),
    ("GET", "/reconciliation/anomalies"):
        lambda ids: ("GET", "/reconciliation/anomalies", None, None),
    ("POST", "/dunning/runs"): lambda ids: ("POST", "/dunning/runs", None, {}),
    ("POST", "/dunning/direct-debit-file"):
        lambda ids: ("POST", "/dunning/direct-debit-file", None, {}),
}
SUCCESS = {("POST", "/invitations"): 201, ("POST", "/auth/totp/confirm"): 422,
           # books: past the permission check, the route's own answer to an empty body
           # or a missing object
           ("POST", "/ledger/transactions"): 422,
           ("POST", "/ledger/transactions/{transaction_id}/reversal"): 422,
           ("GET", "/tenants/{tenant_id}/statement"): 404,
           ("POST", "/invoices"): 422,
           ("GET", "/invoices/{invoice_id}"): 404,
           ("POST", "/invoices/{invoice_id}/credit-notes"): 422,
           ("GET", "/invoices/{invoice_id}/girocode.svg"): 422,
           ("POST", "/bank/statements"): 422,
           ("POST", "/reconciliation/runs"): 201,
           ("POST", "/reconciliation/entries/{entry_id}/confirm"): 404,
           ("POST", "/reconciliation/entries/{entry_id}/override"): 422,
           ("POST", "/dunning/runs"): 422,
           ("POST", "/dunning/direct-debit-file"): 422}
# Collection routes whose body names the object: scope is checked inside.
BODY_TARGET = {("POST", "/invitations")}

# Each role at the levels it is usually held at.
PRINCIPALS = [("admin", "installation"), ("admin", "property"),
              ("property_manager", "property"), ("property_manager", "building"),
              ("accountant", "property"), ("caretaker", "building"),
              ("service_provider", "building"), ("owner", "unit"), ("tenant", "unit"),
              ("advisory_board_member", "property")]


def expected(key: tuple[str, str], perm: RoutePermission, role: str, level: str,
             inside: bool) -> int:
    allowed = level in allowed_levels(perm.action, role) or perm.action == "self"
    success = SUCCESS.get(key, 200)
    if perm.target is None:
        if not allowed:
            return 403
        return success if inside or key not in BODY_TARGET else 404
    covered = inside and (level != "unit" or perm.target == "unit_id")
    if not covered:
        return 404
    return success if allowed else 403


def _scope(level: str, ids: Ids) -> dict[str, int]:
    return {"installation": {}, "property": {"property_id": ids.property_id},
            "building": {"building_id": ids.building_id},
            "unit": {"unit_id": ids.unit_id}}[level]


# Ticket routes grant "tickets:use" to every role and decide per ticket (private or
# public, reporter, assignee, anonymity); that per-ticket matrix is
# tests/tickets/test_visibility.py and test_workflow.py (every transition × role).
TABLE_ROUTES = {key for key, perm in ROUTES.items() if perm.action != "tickets:use"}


def test_every_route_has_a_matrix_case() -> None:
    assert set(CASES) == TABLE_ROUTES


@pytest.mark.parametrize(("role", "level"), PRINCIPALS, ids=[f"{r}@{lv}" for r, lv in PRINCIPALS])
def test_role_route_matrix(world: MatrixWorld, client: TestClient, auth_settings: AuthSettings,
                           role: str, level: str) -> None:
    user_id = make_user(world.dsn, f"{role}.{level}@matrix.example",
                        (role, _scope(level, world.inside)))
    wrong: list[str] = []
    places = [True] if level == "installation" else [True, False]
    session = bearer(world.dsn, auth_settings, user_id)
    for key, perm in ROUTES.items():
        if key not in TABLE_ROUTES:
            continue
        for inside in places:
            method, url, params, body = CASES[key](world.inside if inside else world.outside)
            response = client.request(method, url, params=params, json=body, headers=session)
            if "logout" in url:  # that session (or every session) has ended: open another
                session = bearer(world.dsn, auth_settings, user_id)
            want = expected(key, perm, role, level, inside)
            if response.status_code != want:
                wrong.append(f"{method} {url} ({'inside' if inside else 'outside'}): "
                             f"{response.status_code}, expected {want}: {response.text[:120]}")
            elif want == 404 and perm.target is not None:
                assert response.json()["detail"].endswith("not found")
    assert wrong == []


def test_a_tenant_who_moved_out_keeps_past_statements_only(world: MatrixWorld,
                                                           client: TestClient,
                                                           auth_settings: AuthSettings) -> None:
    unit = world.inside.unit_id
    user_id = make_user(world.dsn, "past@matrix.example", ("tenant", {"unit_id": unit}),
                        valid_from=date(2025, 1, 1), valid_to=date(2026, 3, 31))
    headers = bearer(world.dsn, auth_settings, user_id)
    during = client.get(f"/units/{unit}/bill", params=PERIOD, headers=headers)
    assert during.status_code == 200
    assert during.json()["unit_id"] == unit
    after = client.get(f"/units/{unit}/bill", params={"period": "2026-05"}, headers=headers)
    assert after.status_code == 403
    assert client.get(f"/units/{unit}/readings", params=PERIOD,
                      headers=headers).status_code == 404
    assert client.get("/units", headers=headers).status_code == 403
