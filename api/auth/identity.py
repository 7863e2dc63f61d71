"""From a bearer credential to a :class:`Principal`, inside the request transaction.

The transaction already runs as ``meterbill_app``; once the principal is known
its id goes into the transaction-local settings that the row-level security
policies read (``meterbill.user_id`` or ``meterbill.api_key_id``).
"""

from __future__ import annotations

import psycopg

from api.auth import api_keys
from api.auth.errors import AuthenticationError
from api.auth.principal import Assignment, Principal
from api.auth.settings import AuthSettings
from api.auth.tokens import decode_access_token


def load_assignments(conn: psycopg.Connection, user_id: int) -> tuple[Assignment, ...]:
    rows = conn.execute(
        """SELECT role, property_id, building_id, unit_id, valid_from, valid_to
             FROM role_assignments WHERE user_id = %s ORDER BY id""", (user_id,)
    ).fetchall()
    return tuple(Assignment(*row) for row in rows)


def user_principal(conn: psycopg.Connection, settings: AuthSettings, token: str) -> Principal:
    claims = decode_access_token(settings, token)
    row = conn.execute(
        """SELECT u.email, u.is_active, s.revoked_at, s.mfa
             FROM users u JOIN auth_sessions s ON s.user_id = u.id
            WHERE u.id = %s AND s.id = %s""", (claims.user_id, claims.session_id)
    ).fetchone()
    if row is None:
        raise AuthenticationError("access token names an unknown session")
    email, active, revoked_at, mfa = row
    if not active:
        raise AuthenticationError("this account is disabled")
    if revoked_at is not None:
        raise AuthenticationError("this session was logged out: log in again")
    return Principal("user", claims.user_id, str(email), load_assignments(conn, claims.user_id),
                     mfa=bool(mfa), session_id=claims.session_id)


def authenticate(conn: psycopg.Connection, settings: AuthSettings, bearer: str) -> Principal:
    """A principal for the bearer credential (JWT or API key); sets the RLS settings."""
    if not bearer:
        raise AuthenticationError("a bearer token or API key is required")
    if bearer.startswith(api_keys.KEY_PREFIX):
        principal = api_keys.authenticate(conn, bearer)
        conn.execute("SELECT set_config('meterbill.api_key_id', %s, true)", (str(principal.id),))
    else:
        principal = user_principal(conn, settings, bearer)
        conn.execute("SELECT set_config('meterbill.user_id', %s, true)", (str(principal.id),))
    return principal
