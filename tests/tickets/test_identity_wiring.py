"""Tickets behind the real identity layer: tokens, the permission table, the app role.

The app is ``api.app.create_app`` with the ticket routers included and the
ticket entries of :mod:`api.tickets.route_permissions` added to the permission
table (the wiring the lead applies in ``api/permissions.py``).  Requests run
as ``meterbill_app`` with row-level security, so this also proves the grants
of 0008_tickets.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from types import MappingProxyType

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

import api.deps
import api.permissions
from api.app import create_app
from api.auth.sessions import open_session
from api.auth.settings import AuthSettings
from api.tickets.route_permissions import PROVIDER_LINK_ROUTES, TICKET_GRANTS, ticket_routes
from api.tickets.router import provider_link_router, router
from tests.tickets.conftest import World

SECRET = SecretStr("ticket-test-signing-secret-0123456789abcdef")


def _user(conn: psycopg.Connection, email: str, role: str, **scope: int) -> int:
    row = conn.execute("INSERT INTO users (email) VALUES (%s) RETURNING id", (email,)).fetchone()
    assert row is not None
    conn.execute("INSERT INTO role_assignments (user_id, role, property_id, building_id, "
                 "unit_id, valid_from) VALUES (%s, %s, %s, %s, %s, %s)",
                 (row[0], role, scope.get("property_id"), scope.get("building_id"),
                  scope.get("unit_id"), date(2020, 1, 1)))
    return int(row[0])


def _bearer(dsn: str, settings: AuthSettings, user_id: int) -> dict[str, str]:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        pair = open_session(conn, settings, user_id, True)
    return {"Authorization": f"Bearer {pair.access_token}"}


@pytest.fixture
def wired(tickets_dsn: str, world: World, settings, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setattr(api.permissions, "GRANTS",
                        MappingProxyType({**api.permissions.GRANTS, **TICKET_GRANTS}))
    monkeypatch.setattr(api.deps, "ROUTES", MappingProxyType({**api.permissions.ROUTES,
                                                             **ticket_routes()}))
    auth = AuthSettings(signing_secret=SECRET)
    app = create_app(tickets_dsn, SECRET, auth=auth)
    app.include_router(router)
    app.include_router(provider_link_router)
    app.state.ticket_settings = settings
    with TestClient(app) as client:
        client.auth_settings = auth  # type: ignore[attr-defined]
        yield client


def test_tenant_and_manager_through_real_tokens(wired: TestClient, tickets_dsn: str,
                                                world: World) -> None:
    ids = world.ids
    tag = str(ids["p1"])
    tenant = _user(world.conn, f"tenant{tag}@home.test", "tenant", unit_id=ids["u1"])
    neighbour = _user(world.conn, f"ned{tag}@home.test", "tenant", unit_id=ids["u2"])
    manager = _user(world.conn, f"mgr{tag}@mb.test", "property_manager", property_id=ids["p1"])
    board = _user(world.conn, f"bo{tag}@mb.test", "advisory_board_member",
                  building_id=ids["b1"])
    auth = wired.auth_settings  # type: ignore[attr-defined]
    as_tenant = _bearer(tickets_dsn, auth, tenant)
    r = wired.post("/tickets", headers=as_tenant, json={
        "building_id": ids["b1"], "unit_id": ids["u1"], "title": "Radiator cold"})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["reporter_user_id"] == tenant
    assert wired.get(f"/tickets/{tid}", headers=_bearer(tickets_dsn, auth, neighbour)
                     ).status_code == 404
    assert wired.get(f"/tickets/{tid}", headers=_bearer(tickets_dsn, auth, board)
                     ).status_code == 200
    assert wired.post(f"/tickets/{tid}/status", headers=as_tenant,
                      json={"status": "approved"}).status_code == 403
    as_manager = _bearer(tickets_dsn, auth, manager)
    r = wired.post(f"/tickets/{tid}/status", headers=as_manager, json={"status": "approved"})
    assert r.status_code == 200, r.text
    cats = wired.get(f"/properties/{ids['p1']}/ticket-categories", headers=as_tenant)
    assert [c["name"] for c in cats.json()] == ["General"]
    assert wired.get("/tickets", headers=as_tenant).json()[0]["status"] == "approved"
    # no token, no tickets
    assert wired.get("/tickets").status_code == 401


def test_route_tables_cover_every_ticket_route() -> None:
    paths = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert set(ticket_routes()) == paths
    assert {r.path for r in provider_link_router.routes} == PROVIDER_LINK_ROUTES  # type: ignore[attr-defined]
