"""Access tokens, refresh rotation, logout, API keys, TOTP, lockout and rate limits."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import psycopg
import pyotp
import pytest
from fastapi.testclient import TestClient

from api.auth import api_keys
from api.auth.settings import AuthSettings
from api.auth.tokens import issue_access_token
from tests.auth.conftest import PASSWORD, SECRET, bearer, make_user


def _login(client: TestClient, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/auth/login", json={"email": email, "password": password, **extra})


def _me(client: TestClient, token: str):
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_login_gives_tokens_that_identify_the_user(client: TestClient, auth_dsn: str) -> None:
    user_id = make_user(auth_dsn, "tenant@example.org")
    response = _login(client, "TENANT@example.org")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    me = _me(client, body["access_token"])
    assert me.status_code == 200
    assert me.json()["id"] == user_id and me.json()["label"] == "tenant@example.org"


def test_wrong_password_is_401_problem(client: TestClient, auth_dsn: str) -> None:
    make_user(auth_dsn, "a@example.org")
    response = _login(client, "a@example.org", "not the password")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "wrong e-mail address or password"
    assert _login(client, "nobody@example.org").status_code == 401


def _token(settings: AuthSettings, auth_dsn: str, **changes: object) -> str:
    user_id = make_user(auth_dsn, f"{uuid.uuid4().hex}@example.org")
    header = bearer(auth_dsn, settings, user_id)["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(header, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, SECRET.get_secret_value(), algorithm="HS256")


def test_expired_access_token_is_refused(client: TestClient, auth_dsn: str,
                                         auth_settings: AuthSettings) -> None:
    token = _token(auth_settings, auth_dsn, exp=int(time.time()) - 5)
    response = _me(client, token)
    assert response.status_code == 401
    assert response.json()["detail"] == "access token expired: refresh it or log in again"
    assert response.headers["www-authenticate"] == "Bearer"


def test_access_token_for_another_audience_is_refused(client: TestClient, auth_dsn: str,
                                                      auth_settings: AuthSettings) -> None:
    response = _me(client, _token(auth_settings, auth_dsn, aud="some-other-api"))
    assert response.status_code == 401
    assert response.json()["detail"] == "access token is for another audience"


def test_tampered_access_token_is_refused(client: TestClient, auth_dsn: str,
                                          auth_settings: AuthSettings) -> None:
    good = _token(auth_settings, auth_dsn)
    head, _payload, signature = good.split(".")
    forged_claims = jwt.decode(good, options={"verify_signature": False}) | {"sub": "999"}
    forged_payload = jwt.encode(forged_claims, "x" * 32, algorithm="HS256").split(".")[1]
    response = _me(client, f"{head}.{forged_payload}.{signature}")
    assert response.status_code == 401
    assert response.json()["detail"] == "access token signature is invalid"
    unsigned = jwt.encode(forged_claims, None, algorithm="none")
    assert _me(client, unsigned).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient, auth_dsn: str) -> None:
    make_user(auth_dsn, "r@example.org")
    first = _login(client, "r@example.org").json()
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert _me(client, second.json()["access_token"]).status_code == 200
    # The old token again: someone copied it. The whole session ends.
    reuse = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "already used" in reuse.json()["detail"]
    newest = client.post("/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert newest.status_code == 401
    assert _me(client, second.json()["access_token"]).status_code == 401
    with psycopg.connect(auth_dsn) as conn:
        events = conn.execute("SELECT event, outcome FROM audit_log ORDER BY id").fetchall()
    assert ("refresh_reuse", "denied") in events


def test_logout_ends_one_session_and_logout_all_every_session(client: TestClient,
                                                              auth_dsn: str) -> None:
    make_user(auth_dsn, "l@example.org")
    a, b, c = (_login(client, "l@example.org").json() for _ in range(3))
    out = client.post("/auth/logout", headers={"Authorization": f"Bearer {a['access_token']}"})
    assert out.json() == {"revoked_sessions": 1}
    assert _me(client, a["access_token"]).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": a["refresh_token"]}
                       ).status_code == 401
    assert _me(client, b["access_token"]).status_code == 200
    everywhere = client.post("/auth/logout-all",
                             headers={"Authorization": f"Bearer {b['access_token']}"})
    assert everywhere.json() == {"revoked_sessions": 2}
    assert _me(client, c["access_token"]).status_code == 401


def test_revoked_and_expired_api_keys_are_refused(client: TestClient, auth_dsn: str) -> None:
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        row = conn.execute("INSERT INTO properties (code, name) VALUES ('PK', 'P') RETURNING id"
                           ).fetchone()
        live = api_keys.create(conn, name="gw", actions=["units:list"], property_id=row[0],
                               expires_at=datetime.now(UTC) + timedelta(days=1))
        short = api_keys.create(conn, name="short", actions=["units:list"],
                                expires_at=datetime.now(UTC) + timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {live.key}"}
    assert client.get("/units", headers=headers).status_code == 200
    assert client.get("/auth/me", headers=headers).json()["kind"] == "api_key"
    # Scoped to units:list only: a bill is the wrong action (the unit does not exist: 404).
    assert client.get("/buildings/1/bills", headers=headers).status_code == 404
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        api_keys.revoke(conn, live.id)
        conn.execute("UPDATE api_keys SET expires_at = now() - interval '1 s' WHERE id = %s",
                     (short.id,))
    revoked = client.get("/units", headers=headers)
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "this API key was revoked"
    expired = client.get("/units", headers={"Authorization": f"Bearer {short.key}"})
    assert expired.json()["detail"] == "this API key has expired"
    wrong = client.get("/units", headers={"Authorization": f"Bearer {live.key}x"})
    assert wrong.json()["detail"] == "unknown API key"


def test_totp_enrolment_then_code_is_good_once(client: TestClient, auth_dsn: str) -> None:
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        row = conn.execute("INSERT INTO properties (code, name) VALUES ('PT', 'P') RETURNING id"
                           ).fetchone()
    make_user(auth_dsn, "m@example.org", ("property_manager", {"property_id": row[0]}))
    first = _login(client, "m@example.org").json()
    assert first["totp_enrollment_required"] is True
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    # Without a second factor a manager may manage their account but not the property.
    assert client.get("/units", headers=auth).status_code == 403
    offer = client.post("/auth/totp/enroll", headers=auth).json()
    assert offer["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(offer["secret"])
    confirm = client.post("/auth/totp/confirm", headers=auth, json={"code": totp.now()})
    assert confirm.status_code == 200
    codes = confirm.json()["recovery_codes"]
    assert len(codes) == 10
    # Password alone is no longer enough.
    missing = _login(client, "m@example.org")
    assert missing.status_code == 401
    assert missing.json()["title"] == "Second factor required"
    # The step used at confirmation is spent; the next step's code is good once.
    code = totp.at(time.time() + 30)
    ok = _login(client, "m@example.org", totp_code=code)
    assert ok.status_code == 200
    assert client.get("/units", headers={
        "Authorization": f"Bearer {ok.json()['access_token']}"}).status_code == 200
    replay = _login(client, "m@example.org", totp_code=code)
    assert replay.status_code == 401
    assert replay.json()["detail"] == "login refused: wrong or replayed TOTP code"
    # A recovery code works once.
    assert _login(client, "m@example.org", recovery_code=codes[0]).status_code == 200
    assert _login(client, "m@example.org", recovery_code=codes[0]).status_code == 401


def test_repeated_failures_lock_the_account_with_a_clear_message(client: TestClient,
                                                                 auth_dsn: str) -> None:
    make_user(auth_dsn, "x@example.org")
    for _ in range(2):
        assert _login(client, "x@example.org", "wrong").status_code == 401
    third = _login(client, "x@example.org", "wrong")
    assert third.status_code == 423
    assert third.json()["detail"] == "account locked after 3 failed logins for 15 minutes"
    assert int(third.headers["retry-after"]) == 900
    # Even the right password waits until the lock ends.
    locked = _login(client, "x@example.org")
    assert locked.status_code == 423
    assert locked.json()["detail"].startswith("account locked after 3 failed logins until ")
    with psycopg.connect(auth_dsn) as conn:
        outcomes = [r[0] for r in conn.execute(
            "SELECT outcome FROM audit_log WHERE event = 'login' AND actor_label = %s"
            " ORDER BY id", ("x@example.org",))]
    assert outcomes == ["failed", "failed", "failed", "denied"]


def test_too_many_logins_from_one_address_is_429_with_retry_after(client: TestClient) -> None:
    statuses = [_login(client, f"n{i}@example.org").status_code for i in range(9)]
    assert statuses == [401] * 8 + [429]
    last = _login(client, "n@example.org")
    assert last.status_code == 429
    assert 1 <= int(last.headers["retry-after"]) <= 60
    assert last.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("given", ["", "Basic abc", "Bearer "])
def test_missing_credentials_are_401(client: TestClient, given: str) -> None:
    response = client.get("/units", headers={"Authorization": given} if given else {})
    assert response.status_code == 401


def test_token_signed_with_another_secret_is_refused(client: TestClient, auth_dsn: str) -> None:
    user_id = make_user(auth_dsn, "o@example.org")
    other = AuthSettings(signing_secret=type(SECRET)("another-secret-" + "y" * 32))
    token = issue_access_token(other, user_id, "00000000-0000-0000-0000-000000000000", True)
    assert _me(client, token).json()["detail"] == "access token signature is invalid"
