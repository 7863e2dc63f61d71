"""Login, refresh-token rotation, logout and "log out everywhere".

Each login opens a session (a refresh-token family).  Refreshing exchanges the
presented token for a new one; presenting an already exchanged token again
means it was copied, so the whole family is revoked (OAuth 2.0 Security BCP,
RFC 9700 §4.14.2) and the access tokens of that session stop working too.

These functions manage their own transaction on a pooled connection: a failed
login must leave its count and audit record behind even though the answer is
an error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from api import audit
from api.auth import second_factor
from api.auth.errors import AccountLockedError, AuthenticationError, SecondFactorRequired
from api.auth.passwords import verify_password
from api.auth.principal import Principal
from api.auth.settings import STAFF_ROLES, AuthSettings
from api.auth.tokens import issue_access_token, new_secret, sha256_hex
from api.errors import ApiError

APP_ROLE = "meterbill_app"


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in_s: int
    totp_enrollment_required: bool


def begin_as_app(conn: psycopg.Connection) -> None:
    """First statement of every API transaction: drop to the application role."""
    conn.execute(f"SET LOCAL ROLE {APP_ROLE}")


def _issue(conn: psycopg.Connection, settings: AuthSettings, user_id: int, session_id: str,
           mfa: bool) -> tuple[str, str]:
    refresh = new_secret()
    conn.execute(
        """INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
           VALUES (%s, %s, now() + %s)""", (session_id, sha256_hex(refresh), settings.refresh_ttl))
    return issue_access_token(settings, user_id, session_id, mfa), refresh


def open_session(conn: psycopg.Connection, settings: AuthSettings, user_id: int,
                 mfa: bool) -> TokenPair:
    """A new session and its first token pair (used by login; tests call it directly)."""
    session_id = str(uuid.uuid4())
    conn.execute("INSERT INTO auth_sessions (id, user_id, mfa) VALUES (%s, %s, %s)",
                 (session_id, user_id, mfa))
    access, refresh = _issue(conn, settings, user_id, session_id, mfa)
    staff = conn.execute(
        """SELECT EXISTS (SELECT 1 FROM role_assignments WHERE user_id = %s AND role = ANY(%s)
                             AND valid_from <= current_date
                             AND (valid_to IS NULL OR valid_to >= current_date))""",
        (user_id, sorted(STAFF_ROLES))).fetchone()
    needs_enrollment = bool(staff and staff[0]) and not mfa and settings.require_totp_for_staff
    return TokenPair(access, refresh, int(settings.access_ttl.total_seconds()), needs_enrollment)


def login(conn: psycopg.Connection, settings: AuthSettings, email: str, password: str,
          totp_code: str | None, recovery_code: str | None,
          ctx: audit.RequestContext) -> TokenPair:
    failure: ApiError | None = None
    pair: TokenPair | None = None
    with conn.transaction():
        begin_as_app(conn)
        row = conn.execute(
            """SELECT id, password_hash, totp_secret, totp_last_step, failed_logins,
                      locked_until, locked_until > now(), is_active
                 FROM users WHERE lower(email) = lower(%s) FOR UPDATE""", (email,)).fetchone()
        if row is None:
            verify_password(password, None, settings.password_hash)
            audit.record(conn, "login", ctx=ctx, actor_label=email, outcome="failed",
                         detail={"reason": "unknown e-mail"})
            failure = AuthenticationError("wrong e-mail address or password")
        else:
            (user_id, pw_hash, totp_secret, last_step, failures, locked_until, locked,
             active) = row
            if locked:
                audit.record(conn, "login", ctx=ctx, actor_user_id=user_id, actor_label=email,
                             outcome="denied", detail={"reason": "locked"})
                retry = int((locked_until - datetime.now(UTC)).total_seconds()) + 1
                failure = AccountLockedError(
                    f"account locked after {settings.lockout_after_failures} failed logins "
                    f"until {locked_until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
                    retry_after_s=retry)
            else:
                ok, new_hash = verify_password(password, pw_hash, settings.password_hash)
                reason = None if ok else "wrong password"
                mfa = False
                step = None
                if ok and not active:
                    ok, reason = False, "disabled"
                if ok and totp_secret:
                    if totp_code:
                        step = second_factor.matching_step(totp_secret, totp_code, last_step)
                        ok, reason = step is not None, "wrong or replayed TOTP code"
                    elif recovery_code:
                        ok = second_factor.use_recovery_code(conn, user_id, recovery_code)
                        reason = "wrong or used recovery code"
                        if ok:
                            audit.record(conn, "recovery_code_used", ctx=ctx,
                                         actor_user_id=user_id, actor_label=email)
                    else:
                        failure = SecondFactorRequired(
                            "this account needs a TOTP code (totp_code) or a recovery code")
                        ok, reason = False, "second factor missing"
                    mfa = ok
                if ok:
                    conn.execute(
                        """UPDATE users SET failed_logins = 0, locked_until = NULL,
                                  totp_last_step = coalesce(%s, totp_last_step),
                                  password_hash = coalesce(%s, password_hash)
                            WHERE id = %s""", (step, new_hash, user_id))
                    audit.record(conn, "login", ctx=ctx, actor_user_id=user_id,
                                 actor_label=email, detail={"mfa": mfa})
                    pair = open_session(conn, settings, user_id, mfa)
                elif failure is None:
                    failures += 1
                    lock = failures >= settings.lockout_after_failures
                    conn.execute(
                        """UPDATE users SET failed_logins = %s,
                                  locked_until = CASE WHEN %s THEN now() + %s END
                            WHERE id = %s""",
                        (0 if lock else failures, lock, settings.lockout_for, user_id))
                    audit.record(conn, "login", ctx=ctx, actor_user_id=user_id,
                                 actor_label=email, outcome="failed",
                                 detail={"reason": reason, "locked": lock})
                    failure = (AccountLockedError(
                        f"account locked after {settings.lockout_after_failures} failed logins "
                        f"for {int(settings.lockout_for.total_seconds() // 60)} minutes",
                        retry_after_s=int(settings.lockout_for.total_seconds()))
                        if lock else AuthenticationError("wrong e-mail address or password"
                                                         if reason == "wrong password"
                                                         else f"login refused: {reason}"))
    if failure is not None:
        raise failure
    assert pair is not None
    return pair


def refresh(conn: psycopg.Connection, settings: AuthSettings, token: str,
            ctx: audit.RequestContext) -> TokenPair:
    failure: ApiError | None = None
    pair: TokenPair | None = None
    with conn.transaction():
        begin_as_app(conn)
        row = conn.execute(
            """SELECT t.id, t.rotated_at, t.expires_at > now(), s.id, s.user_id, s.mfa,
                      s.revoked_at, u.is_active
                 FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
                 JOIN users u ON u.id = s.user_id
                WHERE t.token_hash = %s FOR UPDATE OF t, s""", (sha256_hex(token),)).fetchone()
        if row is None:
            failure = AuthenticationError("unknown refresh token")
        else:
            token_id, rotated_at, live, session_id, user_id, mfa, revoked_at, active = row
            if revoked_at is not None:
                failure = AuthenticationError("this session was logged out: log in again")
            elif rotated_at is not None:
                conn.execute(
                    """UPDATE auth_sessions SET revoked_at = now(),
                              revoked_why = 'refresh token reused' WHERE id = %s""",
                    (session_id,))
                audit.record(conn, "refresh_reuse", ctx=ctx, actor_user_id=user_id,
                             outcome="denied", obj=f"session:{session_id}")
                failure = AuthenticationError(
                    "refresh token was already used: the session is revoked, log in again")
            elif not live:
                failure = AuthenticationError("refresh token expired: log in again")
            elif not active:
                failure = AuthenticationError("this account is disabled")
            else:
                conn.execute("UPDATE refresh_tokens SET rotated_at = now() WHERE id = %s",
                             (token_id,))
                access, new_refresh = _issue(conn, settings, user_id, str(session_id), mfa)
                pair = TokenPair(access, new_refresh, int(settings.access_ttl.total_seconds()),
                                 False)
    if failure is not None:
        raise failure
    assert pair is not None
    return pair


def logout(conn: psycopg.Connection, principal: Principal, everywhere: bool,
           ctx: audit.RequestContext) -> int:
    """Revoke this session (or every session of the user); returns how many."""
    if everywhere:
        rows = conn.execute(
            """UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout everywhere'
                WHERE user_id = %s AND revoked_at IS NULL RETURNING id""",
            (principal.id,)).fetchall()
    else:
        rows = conn.execute(
            """UPDATE auth_sessions SET revoked_at = now(), revoked_why = 'logout'
                WHERE id = %s AND revoked_at IS NULL RETURNING id""",
            (principal.session_id,)).fetchall()
    audit.record(conn, "logout_all" if everywhere else "logout", ctx=ctx, actor=principal,
                 detail={"sessions": len(rows)})
    return len(rows)
