"""Fixtures for identity tests: cheap Argon2 settings, users with roles, a real SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes
from email.message import Message

import psycopg
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth.passwords import hash_password
from api.auth.sessions import open_session
from api.auth.settings import AuthSettings, PasswordHashParams
from tests.db_fixtures import create_database, drop_database, unique_name

SECRET = SecretStr("test-signing-secret-0123456789abcdef-xyz")
# Argon2id still, at a cost that keeps the suite fast (production uses RFC 9106 values).
CHEAP_HASH = PasswordHashParams(time_cost=1, memory_cost_kib=1024, parallelism=1)
PASSWORD = "correct horse battery"


@dataclass
class Inbox:
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def auth_settings(smtp: tuple[Inbox, int]) -> AuthSettings:
    return AuthSettings(signing_secret=SECRET, password_hash=CHEAP_HASH, smtp_port=smtp[1],
                        lockout_after_failures=3, login_attempts_per_window=8,
                        expensive_per_window=1000)


@pytest.fixture(scope="package")
def auth_dsn(migrated_template: str) -> Iterator[str]:
    """One migrated database for tests/auth (copying and dropping one per test costs
    seconds); tests keep apart by using their own e-mail addresses and codes."""
    name = unique_name("mbauth")
    dsn = create_database(name, template=migrated_template)
    yield dsn
    drop_database(name)


@pytest.fixture
def client(auth_dsn: str, auth_settings: AuthSettings) -> Iterator[TestClient]:
    """A fresh app (fresh rate-limit counters) on the module's database."""
    with TestClient(create_app(auth_dsn, SECRET, auth=auth_settings)) as test_client:
        yield test_client


def make_user(dsn: str, email: str, *roles: tuple[str, dict[str, int]],
              password: str | None = PASSWORD, valid_from: date | None = None,
              valid_to: date | None = None) -> int:
    """A user with roles, each ``(role, {"unit_id": 3})`` (an empty dict = installation)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO users (email, password_hash) VALUES (%s, %s) RETURNING id",
            (email, hash_password(password, CHEAP_HASH) if password else None)).fetchone()
        assert row is not None
        for role, scope in roles:
            conn.execute(
                """INSERT INTO role_assignments (user_id, role, property_id, building_id, unit_id,
                                                 valid_from, valid_to)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                (row[0], role, scope.get("property_id"), scope.get("building_id"),
                 scope.get("unit_id"), valid_from or date(2020, 1, 1), valid_to))
        return int(row[0])


def bearer(dsn: str, settings: AuthSettings, user_id: int, *, mfa: bool = True) -> dict[str, str]:
    """Authorization header of a fresh session for the user (as login would open it)."""
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        pair = open_session(conn, settings, user_id, mfa)
    return {"Authorization": f"Bearer {pair.access_token}"}
