"""The portal cookie: signed, bound to one session, expiring; CSRF tokens per session."""

from __future__ import annotations

import uuid

from api.portal.identity import (
    SESSION_MAX_AGE,
    csrf_token,
    session_key,
    sign_session,
    verify_session,
)

KEY = session_key("a-signing-secret-of-at-least-32-characters")
SID = uuid.UUID("12345678-1234-5678-1234-567812345678")
NOW = 1_800_000_000


def test_a_signed_cookie_names_its_session() -> None:
    assert verify_session(KEY, sign_session(KEY, SID, NOW), NOW + 5) == SID


def test_tampering_another_key_or_garbage_is_refused() -> None:
    value = sign_session(KEY, SID, NOW)
    sid, issued, mac = value.split(".")
    other = uuid.uuid4()
    assert verify_session(KEY, f"{other}.{issued}.{mac}", NOW) is None
    assert verify_session(KEY, f"{sid}.{int(issued) + 1}.{mac}", NOW) is None
    assert verify_session(session_key("another-secret-of-at-least-32-characters!"), value,
                          NOW) is None
    assert verify_session(KEY, "not-a-cookie", NOW) is None
    assert verify_session(KEY, "a.b.c", NOW) is None


def test_a_cookie_expires_and_cannot_come_from_the_future() -> None:
    value = sign_session(KEY, SID, NOW)
    assert verify_session(KEY, value, NOW + SESSION_MAX_AGE - 1) == SID
    assert verify_session(KEY, value, NOW + SESSION_MAX_AGE) is None
    assert verify_session(KEY, sign_session(KEY, SID, NOW + 3600), NOW) is None


def test_the_cookie_key_is_not_the_signing_secret_and_csrf_is_per_session() -> None:
    secret = "a-signing-secret-of-at-least-32-characters"
    assert secret.encode() not in session_key(secret)
    assert csrf_token(KEY, SID) == csrf_token(KEY, SID)
    assert csrf_token(KEY, SID) != csrf_token(KEY, uuid.uuid4())
