"""Who is looking at the portal: a signed cookie naming an identity session.

The portal is HTML for browsers, so its credential is a cookie, not the
bearer token of the JSON API.  Signing in goes through the identity issue's
``api.auth.sessions.login`` (password, TOTP when enrolled, lockout, audit),
which opens a row in ``auth_sessions``; the portal cookie carries that
session's id and the time it was issued, signed with HMAC-SHA-256 under a
key derived from the server's signing secret.  On every request the session
must still exist, be unrevoked and belong to an active user, so logging out
(or "log out everywhere" from any client) ends portal access at once, and a
copied cookie expires after ``SESSION_MAX_AGE`` regardless.

Cookie attributes (OWASP Session Management cheat sheet): ``HttpOnly`` (no
script can read it), ``SameSite=Lax`` (not sent on cross-site POSTs),
``Secure`` and the ``__Host-`` prefix when served over https, ``Path=/``.
Forms carry a CSRF token bound to the session (HMAC(key, "csrf:" + session
id): a signed double-submit token without server state), compared in
constant time; the login form, before any session, uses a random
double-submit cookie.

Two walls, like the JSON API (issue 10): the request's transaction runs as
``meterbill_app`` with ``meterbill.user_id`` bound (``api.deps.bind_user``),
so row-level security hides other tenants' rows; and each page asks
``api.auth.authorization.decide`` with the same actions as the API routes
(``bill:read``, ``consumption:read`` on the unit), answering 404 outside the
caller's scope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request, Response

from api.auth.authorization import decide
from api.auth.identity import load_assignments
from api.auth.principal import Place, Principal
from api.deps import TxConn, bind_user
from api.errors import NotFoundError

SESSION_COOKIE = "mb_portal"
SECURE_SESSION_COOKIE = "__Host-mb_portal"
SESSION_MAX_AGE = 12 * 3600  # seconds; a working day, then sign in again
_KEY_LABEL = b"meterbill portal session v1"
PORTAL_ROLES = ("tenant", "owner")


@dataclass(frozen=True, slots=True)
class PortalUser:
    """The signed-in person as the portal needs them."""

    user_id: int
    session_id: uuid.UUID
    email: str
    display_name: str
    tenant_id: int | None
    unit_ids: tuple[int, ...]
    language: str | None
    principal: Principal
    require_totp_for_staff: bool = True

    def sees_unit(self, unit_id: int) -> bool:
        return unit_id in self.unit_ids


def session_key(server_secret: str) -> bytes:
    """A key for portal cookies only, derived so it never equals the API token."""
    return hmac.new(server_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _request_key(request: Request) -> bytes:
    return session_key(request.app.state.api_token.get_secret_value())


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_session(key: bytes, session_id: uuid.UUID, issued_at: int) -> str:
    """Cookie value ``<session uuid>.<issued unix seconds>.<mac>``."""
    body = f"{session_id}.{issued_at}"
    return f"{body}.{_mac(key, body)}"


def verify_session(key: bytes, value: str, now: int) -> uuid.UUID | None:
    """The session id of a valid, unexpired cookie value, else None."""
    parts = value.split(".")
    if len(parts) != 3:
        return None
    sid, issued, mac = parts
    if not hmac.compare_digest(mac, _mac(key, f"{sid}.{issued}")):
        return None
    try:
        session_id = uuid.UUID(sid)
        issued_at = int(issued)
    except ValueError:
        return None
    if not (issued_at <= now + 60 and now - issued_at < SESSION_MAX_AGE):
        return None
    return session_id


def csrf_token(key: bytes, session_id: uuid.UUID) -> str:
    return _mac(key, f"csrf:{session_id}")


def csrf_valid(request: Request, user: PortalUser, given: str | None) -> bool:
    expected = csrf_token(_request_key(request), user.session_id)
    return bool(given) and hmac.compare_digest(expected, given or "")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session_id: uuid.UUID,
                       now: int | None = None) -> None:
    """Start portal access for an ``auth_sessions`` row (called by the login flow)."""
    value = sign_session(_request_key(request), session_id, int(now or time.time()))
    secure = is_https(request)
    response.set_cookie(SECURE_SESSION_COOKIE if secure else SESSION_COOKIE, value,
                        max_age=SESSION_MAX_AGE, path="/", secure=secure, httponly=True,
                        samesite="lax")


def clear_session_cookie(response: Response, request: Request) -> None:
    secure = is_https(request)
    response.delete_cookie(SECURE_SESSION_COOKIE if secure else SESSION_COOKIE, path="/",
                           secure=secure, httponly=True, samesite="lax")


def load_portal_user(conn: psycopg.Connection, session_id: uuid.UUID) -> PortalUser | None:
    """The user of a live session, bound for row-level security, with their units today."""
    row = conn.execute(
        """SELECT u.id, u.email, u.display_name, s.mfa FROM auth_sessions s
             JOIN users u ON u.id = s.user_id
            WHERE s.id = %s AND s.revoked_at IS NULL AND u.is_active""",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    user_id, email, display_name = int(row[0]), str(row[1]), str(row[2])
    bind_user(conn, user_id)
    assignments = load_assignments(conn, user_id)
    today = date.today()
    unit_ids = sorted({a.unit_id for a in assignments
                       if a.role in PORTAL_ROLES and a.unit_id is not None and a.valid_on(today)})
    # Row-level security shows a tenant only the tenant records of their own occupancies.
    tenant = conn.execute(
        "SELECT id, language FROM tenants WHERE lower(email) = lower(%s) ORDER BY id LIMIT 1",
        (email,),
    ).fetchone()
    principal = Principal("user", user_id, email, assignments, mfa=bool(row[3]),
                          session_id=str(session_id))
    return PortalUser(
        user_id=user_id, session_id=session_id, email=email,
        display_name=display_name or email,
        tenant_id=int(tenant[0]) if tenant else None,
        unit_ids=tuple(unit_ids),
        language=str(tenant[1]) if tenant else None,
        principal=principal,
    )


def authorize_unit(conn: psycopg.Connection, user: PortalUser, unit_id: int, action: str,
                   period: tuple[date, date] | None = None) -> Place:
    """The API's permission check for ``action`` on a unit (404 outside the scope); on
    success the transaction may read the unit's whole building, as bills need."""
    row = conn.execute("SELECT * FROM meterbill_unit_place(%s)", (unit_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"unit {unit_id} not found")
    place = Place(int(row[2]), int(row[1]), int(row[0]))
    decide(user.principal, action, place, today=date.today(), period=period,
           not_found=f"unit {unit_id} not found",
           require_totp_for_staff=user.require_totp_for_staff)
    conn.execute("SELECT set_config('meterbill.billing_building_id', %s, true)",
                 (str(place.building_id),))
    return place


def current_portal_user(request: Request, conn: TxConn) -> PortalUser:
    """The identity dependency of every portal route: 401 without a live session."""
    # Over https only the __Host- cookie counts: a plain-http cookie could have been
    # planted by a network attacker (cookie tossing) to sign the victim into their account.
    value = request.cookies.get(SECURE_SESSION_COOKIE) if is_https(request) \
        else request.cookies.get(SESSION_COOKIE)
    session_id = verify_session(_request_key(request), value, int(time.time())) if value else None
    user = load_portal_user(conn, session_id) if session_id else None
    if user is None:
        # A browser without a live session goes to the sign-in form.
        raise HTTPException(status_code=303, detail="sign in to use the tenant portal",
                            headers={"Location": "/portal/login"})
    return replace(user, require_totp_for_staff=bool(
        request.app.state.auth_settings.require_totp_for_staff))


CurrentPortalUser = Annotated[PortalUser, Depends(current_portal_user)]
