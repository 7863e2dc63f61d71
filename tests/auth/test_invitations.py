"""Invitations by e-mail through a real SMTP server (aiosmtpd), used once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import psycopg
from fastapi.testclient import TestClient

from api.auth.settings import AuthSettings
from tests.auth.conftest import Inbox, bearer, make_user


def _unit(dsn: str, code: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        prop = conn.execute("INSERT INTO properties (code, name) VALUES (%s, 'p') RETURNING id",
                            (code,)).fetchone()
        building = conn.execute("""INSERT INTO buildings (property_id, code, name)
                                   VALUES (%s, 'B', 'b') RETURNING id""", (prop[0],)).fetchone()
        unit = conn.execute("""INSERT INTO units (building_id, code, living_area_m2,
                               heated_area_m2) VALUES (%s, 'W1', 50, 50) RETURNING id""",
                            (building[0],)).fetchone()
    return int(prop[0]), int(unit[0])


def test_manager_invites_a_tenant_who_accepts_once_and_logs_in(
        client: TestClient, auth_dsn: str, auth_settings: AuthSettings,
        smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    property_id, unit_id = _unit(auth_dsn, "INV1")
    manager = make_user(auth_dsn, "manager@inv.example",
                        ("property_manager", {"property_id": property_id}))
    sent = client.post("/invitations", headers=bearer(auth_dsn, auth_settings, manager), json={
        "email": "new.tenant@inv.example", "role": "tenant", "unit_id": unit_id,
        "valid_from": "2026-01-01"})
    assert sent.status_code == 201
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "new.tenant@inv.example"
    assert mail["Subject"] == "Your meterbill invitation"
    body = mail.get_payload(decode=True).decode()
    link = next(line for line in body.splitlines() if "token=" in line)
    token = parse_qs(urlparse(link).query)["token"][0]

    weak = client.post("/auth/invitations/accept", json={"token": token, "password": "short"})
    assert weak.status_code == 422
    accepted = client.post("/auth/invitations/accept", json={
        "token": token, "password": "a long enough passphrase", "display_name": "New"})
    assert accepted.status_code == 200
    again = client.post("/auth/invitations/accept", json={
        "token": token, "password": "a long enough passphrase"})
    assert again.status_code == 409
    assert again.json()["detail"] == "this invitation was already used"

    login = client.post("/auth/login", json={"email": "new.tenant@inv.example",
                                             "password": "a long enough passphrase"})
    assert login.status_code == 200
    me = client.get("/auth/me", headers={"Authorization":
                                         f"Bearer {login.json()['access_token']}"}).json()
    assert [(a["role"], a["unit_id"]) for a in me["assignments"]] == [("tenant", unit_id)]
    with psycopg.connect(auth_dsn) as conn:
        events = [r[0] for r in conn.execute(
            "SELECT event FROM audit_log WHERE object = %s OR object LIKE 'user:%%' ORDER BY id",
            (f"invitation:{sent.json()['id']}",))]
    assert events[:3] == ["invitation_sent", "invitation_accepted", "role_granted"]


def test_manager_cannot_invite_outside_scope_or_hand_out_admin(
        client: TestClient, auth_dsn: str, auth_settings: AuthSettings,
        smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    mine, _ = _unit(auth_dsn, "INV2")
    _, foreign_unit = _unit(auth_dsn, "INV3")
    manager = make_user(auth_dsn, "manager2@inv.example",
                        ("property_manager", {"property_id": mine}))
    headers = bearer(auth_dsn, auth_settings, manager)
    outside = client.post("/invitations", headers=headers, json={
        "email": "x@inv.example", "role": "tenant", "unit_id": foreign_unit})
    assert outside.status_code == 404
    admin = client.post("/invitations", headers=headers, json={
        "email": "x@inv.example", "role": "admin", "property_id": mine})
    assert admin.status_code == 403
    typo = client.post("/invitations", headers=headers, json={
        "email": "x@inv.example", "role": "tenant", "property_id": mine, "rol": "x"})
    assert typo.status_code == 422
    assert inbox.messages == []


def test_the_first_admin_is_invited_with_an_operator_key(
        client: TestClient, auth_dsn: str, smtp: tuple[Inbox, int]) -> None:
    from datetime import UTC, datetime, timedelta

    from api.auth import api_keys

    inbox, _ = smtp
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        key = api_keys.create(conn, name="bootstrap", actions=["invitations:create"],
                              expires_at=datetime.now(UTC) + timedelta(hours=1))
    sent = client.post("/invitations", headers={"Authorization": f"Bearer {key.key}"},
                       json={"email": "first.admin@inv.example", "role": "admin"})
    assert sent.status_code == 201
    body = inbox.messages[-1].get_payload(decode=True).decode()
    token = parse_qs(urlparse(next(ln for ln in body.splitlines() if "token=" in ln)).query)
    accepted = client.post("/auth/invitations/accept", json={
        "token": token["token"][0], "password": "the first admin's passphrase"})
    assert accepted.status_code == 200
    login = client.post("/auth/login", json={"email": "first.admin@inv.example",
                                             "password": "the first admin's passphrase"})
    me = client.get("/auth/me", headers={"Authorization":
                                         f"Bearer {login.json()['access_token']}"}).json()
    assert [(a["role"], a["level"]) for a in me["assignments"]] == [("admin", "installation")]
    # A scoped manager cannot hand out installation-wide admin.
    property_id, _ = _unit(auth_dsn, "INV4")
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        scoped = api_keys.create(conn, name="scoped", actions=["invitations:create"],
                                 property_id=property_id,
                                 expires_at=datetime.now(UTC) + timedelta(hours=1))
    refused = client.post("/invitations", headers={"Authorization": f"Bearer {scoped.key}"},
                          json={"email": "second.admin@inv.example", "role": "admin"})
    assert refused.status_code == 403
