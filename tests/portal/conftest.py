"""A demo building's month in a database of this module's own, with two tenants signed in.

The demo fills the database through the real path (simulated Modbus meters →
gateway poll → COPY writer), so the portal reads what production would.
Tenant A (German) rents the first unit, tenant B (Chinese) the second; each
has an ``auth_sessions`` row, as the identity issue's login creates, and a
portal cookie signed for it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from api.app import create_app
from api.auth.passwords import hash_password
from api.auth.settings import AuthSettings, PasswordHashParams
from api.bills.schemas import BuildingBillPublic
from api.portal.identity import SESSION_COOKIE, session_key, sign_session
from api.portal.router import router as portal_router
from meterbill.config import DemoSettings, Settings
from meterbill.demo import run_demo
from tests.db_fixtures import create_database, drop_database, unique_name

API_TOKEN = "portal-test-token-0123456789abcdef"
PASSWORD = "correct horse battery staple 42"
# Cheap Argon2 parameters: the tests check the flow, not the cost.
FAST_HASH = PasswordHashParams(time_cost=1, memory_cost_kib=1024, parallelism=1)
IBAN = "DE89370400440532013000"
ACCOUNT_HOLDER = "Hausverwaltung Muster GmbH"


@dataclass(frozen=True)
class Tenant:
    user_id: int
    tenant_id: int
    unit_id: int
    unit_code: str
    email: str
    session_id: uuid.UUID
    cookie: str


@dataclass(frozen=True)
class PortalWorld:
    dsn: str
    bill: BuildingBillPublic
    a: Tenant
    b: Tenant
    property_id: int


def portal_app(dsn: str) -> FastAPI:
    auth = AuthSettings(signing_secret=SecretStr(API_TOKEN), password_hash=FAST_HASH)
    app = create_app(dsn, SecretStr(API_TOKEN), pool_max=4, auth=auth)
    app.include_router(portal_router)
    return app


def _tenant(conn: psycopg.Connection, name: str, email: str, language: str, unit_id: int,
            unit_code: str) -> Tenant:
    tenant_id = conn.execute(
        "INSERT INTO tenants (name, email, language) VALUES (%s, %s, %s) RETURNING id",
        (name, email, language)).fetchone()[0]
    user_id = conn.execute(
        "INSERT INTO users (email, display_name, password_hash) VALUES (%s, %s, %s)"
        " RETURNING id", (email, name, hash_password(PASSWORD, FAST_HASH))).fetchone()[0]
    conn.execute(
        "INSERT INTO role_assignments (user_id, role, unit_id, valid_from)"
        " VALUES (%s, 'tenant', %s, '2025-01-01')", (user_id, unit_id))
    conn.execute("INSERT INTO occupancies (unit_id, tenant_id, moved_in) VALUES (%s, %s, %s)",
                 (unit_id, tenant_id, "2025-01-01"))
    session_id = uuid.uuid4()
    conn.execute("INSERT INTO auth_sessions (id, user_id, mfa) VALUES (%s, %s, false)",
                 (session_id, user_id))
    cookie = sign_session(session_key(API_TOKEN), session_id, int(time.time()))
    return Tenant(int(user_id), int(tenant_id), unit_id, unit_code, email, session_id, cookie)


@pytest.fixture(scope="session")
def portal_world(migrated_template: str) -> Iterator[PortalWorld]:
    name = unique_name("mbportal")
    dsn = create_database(name, template=migrated_template)
    try:
        run = run_demo(Settings(demo=DemoSettings(units=6, interval_minutes=360,
                                                  period="2026-03")), dsn, quiet=True)
        units = [(u.unit_id, u.unit_code) for u in run.bill.units]
        with psycopg.connect(dsn, autocommit=True) as conn:
            a = _tenant(conn, "Anna Schmidt", "anna@example.org", "de", *units[0])
            b = _tenant(conn, "王芳", "wang.fang@example.org", "zh", *units[1])
            property_id = conn.execute(
                "SELECT b.property_id FROM buildings b WHERE b.id = %s",
                (run.bill.building_id,)).fetchone()[0]
            ledger_id = conn.execute(
                "INSERT INTO ledgers (code, name, property_id) VALUES ('demo', 'Demo', %s)"
                " RETURNING id", (property_id,)).fetchone()[0]
            conn.execute(
                "INSERT INTO ledger_accounts (ledger_id, code, kind, name, property_id, iban)"
                " VALUES (%s, '1200', 'bank', %s, %s, %s)",
                (ledger_id, ACCOUNT_HOLDER, property_id, IBAN))
        yield PortalWorld(dsn, run.bill, a, b, int(property_id))
    finally:
        drop_database(name)


def cookies_of(tenant: Tenant) -> dict[str, str]:
    return {SESSION_COOKIE: tenant.cookie}
