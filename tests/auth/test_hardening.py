"""Request limits, security headers, request ids, closed CORS, unknown fields."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from api.auth.settings import AuthSettings
from tests.auth.conftest import PASSWORD, bearer, make_user


def test_a_body_over_the_limit_is_413_before_any_route(client: TestClient,
                                                       auth_settings: AuthSettings) -> None:
    big = "x" * (auth_settings.max_body_bytes + 1)
    response = client.post("/auth/login", content=big,
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(3):
            yield b"x" * (auth_settings.max_body_bytes // 2)

    streamed = client.post("/auth/login", content=chunks(),
                           headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_responses_carry_security_headers_and_a_request_id(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert docs.headers["x-frame-options"] == "DENY"
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert docs.headers["referrer-policy"] == "no-referrer"
    assert len(docs.headers["x-request-id"]) == 32
    echoed = client.get("/health", headers={"X-Request-ID": "req-42"})
    assert echoed.headers["x-request-id"] == "req-42"


def test_cors_is_closed(client: TestClient) -> None:
    preflight = client.options("/units", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers


def test_unknown_fields_are_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/auth/login", json={"email": "a@b.c", "password": "x",
                                                "is_admin": True})
    assert response.status_code == 422
    assert response.json()["field"] == "body.is_admin"


def test_failed_login_is_audited_with_request_id_and_address(client: TestClient, auth_dsn: str,
                                                             auth_settings: AuthSettings) -> None:
    make_user(auth_dsn, "audited@hard.example")
    client.post("/auth/login", json={"email": "audited@hard.example", "password": "nope"},
                headers={"X-Request-ID": "audit-req-1"})
    client.post("/auth/login", json={"email": "audited@hard.example", "password": PASSWORD})
    with psycopg.connect(auth_dsn) as conn:
        rows = conn.execute("""SELECT outcome, request_id, source_address FROM audit_log
                                WHERE event = 'login' AND actor_label = %s ORDER BY id""",
                            ("audited@hard.example",)).fetchall()
    assert rows[0] == ("failed", "audit-req-1", "testclient")
    assert rows[1][0] == "ok"
    # Readers: an admin sees the events, a tenant may not read the log at all.
    admin = make_user(auth_dsn, "admin@hard.example", ("admin", {}))
    events = client.get("/audit", headers=bearer(auth_dsn, auth_settings, admin)).json()
    assert any(e["request_id"] == "audit-req-1" for e in events)


def test_expensive_routes_are_limited_per_caller_with_retry_after(
        auth_dsn: str, auth_settings: AuthSettings) -> None:
    from dataclasses import replace

    from api.app import create_app
    from tests.auth.conftest import SECRET

    tight = replace(auth_settings, expensive_per_window=2)
    admin = make_user(auth_dsn, "busy-admin@hard.example", ("admin", {}))
    headers = bearer(auth_dsn, tight, admin)
    with TestClient(create_app(auth_dsn, SECRET, auth=tight)) as client:
        statuses = [client.get("/buildings/999999/bills", params={"period": "2026-03"},
                               headers=headers).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
        limited = client.get("/units/999999/bill", params={"period": "2026-03"},
                             headers=headers)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Cheap routes are not counted.
        assert client.get("/units", headers=headers).status_code == 200


def test_odd_ids_and_nul_characters_are_client_errors(client: TestClient, auth_dsn: str,
                                                      auth_settings: AuthSettings) -> None:
    admin = bearer(auth_dsn, auth_settings, make_user(auth_dsn, "odd@hard.example",
                                                      ("admin", {})))
    for unit in ("9223372036854775808", "99999999999999999999999"):
        response = client.get(f"/units/{unit}/bill", params={"period": "2026-03"}, headers=admin)
        assert response.status_code == 404
    assert client.get("/units/\u00b2/bill", params={"period": "2026-03"},
                      headers=admin).status_code == 422
    nul = client.post("/auth/login", json={"email": "a\u0000b@c", "password": "x"})
    assert nul.status_code == 422
    assert nul.json()["field"] == "body.email"
