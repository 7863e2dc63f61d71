"""Routes: login, refresh, logout, second factor, invitations, audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api import audit
from api.auth import invitations, second_factor, sessions
from api.auth.principal import Principal
from api.auth.schemas import (
    AcceptedPublic,
    AssignmentPublic,
    AuditEventPublic,
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    LoginRequest,
    LogoutPublic,
    MePublic,
    RecoveryCodesPublic,
    RefreshRequest,
    TokenPublic,
    TotpConfirmRequest,
    TotpEnrollPublic,
)
from api.deps import Context, CurrentUser, DbConn, Settings
from api.errors import ConflictError, InvalidRequestError

router = APIRouter(tags=["auth"])


def _token_public(pair: sessions.TokenPair) -> TokenPublic:
    return TokenPublic(access_token=pair.access_token, refresh_token=pair.refresh_token,
                       expires_in=pair.expires_in_s,
                       totp_enrollment_required=pair.totp_enrollment_required)


@router.post("/auth/login")
def login(body: LoginRequest, request: Request, settings: Settings,
          ctx: Context) -> TokenPublic:
    """Password (and TOTP code or recovery code when enrolled) → access + refresh token."""
    limiter = request.app.state.login_limiter
    limiter.hit(("address", ctx.source_address), "login attempts from this address")
    limiter.hit(("email", body.email.lower()), "login attempts for this account")
    with request.app.state.pool.connection() as conn:
        return _token_public(sessions.login(conn, settings, body.email, body.password,
                                            body.totp_code, body.recovery_code, ctx))


@router.post("/auth/refresh")
def refresh(body: RefreshRequest, request: Request, settings: Settings,
            ctx: Context) -> TokenPublic:
    """Exchange a refresh token for a new pair; a reused token revokes its session."""
    request.app.state.login_limiter.hit(("refresh", ctx.source_address),
                                        "token refreshes from this address")
    with request.app.state.pool.connection() as conn:
        return _token_public(sessions.refresh(conn, settings, body.refresh_token, ctx))


@router.post("/auth/logout")
def logout(conn: DbConn, user: CurrentUser, ctx: Context) -> LogoutPublic:
    return LogoutPublic(revoked_sessions=sessions.logout(conn, user, False, ctx))


@router.post("/auth/logout-all")
def logout_all(conn: DbConn, user: CurrentUser, ctx: Context) -> LogoutPublic:
    """Log out everywhere: every session of this user, and their access tokens."""
    return LogoutPublic(revoked_sessions=sessions.logout(conn, user, True, ctx))


@router.get("/auth/me")
def me(user: CurrentUser) -> MePublic:
    return MePublic(kind=user.kind, id=user.id, label=user.label, mfa=user.mfa, assignments=[
        AssignmentPublic(role=a.role, level=a.level, property_id=a.property_id,
                         building_id=a.building_id, unit_id=a.unit_id,
                         valid_from=a.valid_from, valid_to=a.valid_to)
        for a in user.assignments])


def _user_only(user: Principal) -> None:
    if user.kind != "user":
        raise InvalidRequestError("an API key has no second factor", field="authorization")


@router.post("/auth/totp/enroll")
def totp_enroll(conn: DbConn, user: CurrentUser) -> TotpEnrollPublic:
    """Offer a new TOTP secret; it takes effect once confirmed with a code."""
    _user_only(user)
    secret = second_factor.new_totp_secret()
    conn.execute("UPDATE users SET totp_pending = %s WHERE id = %s", (secret, user.id))
    return TotpEnrollPublic(secret=secret,
                            otpauth_uri=second_factor.provisioning_uri(secret, user.label))


@router.post("/auth/totp/confirm")
def totp_confirm(body: TotpConfirmRequest, conn: DbConn, user: CurrentUser,
                 ctx: Context) -> RecoveryCodesPublic:
    """Confirm the offered secret with a code; returns recovery codes (shown once)."""
    _user_only(user)
    row = conn.execute("SELECT totp_pending FROM users WHERE id = %s", (user.id,)).fetchone()
    if row is None or row[0] is None:
        raise ConflictError("no TOTP enrolment pending: POST /auth/totp/enroll first")
    step = second_factor.matching_step(str(row[0]), body.code, None)
    if step is None:
        raise InvalidRequestError("code: does not match the offered secret", field="code")
    conn.execute("""UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,
                           totp_last_step = %s WHERE id = %s""", (step, user.id))
    conn.execute("UPDATE auth_sessions SET mfa = true WHERE id = %s", (user.session_id,))
    audit.record(conn, "totp_enrolled", ctx=ctx, actor=user)
    return RecoveryCodesPublic(recovery_codes=second_factor.new_recovery_codes(conn, user.id))


@router.post("/invitations", status_code=201)
def create_invitation(body: InvitationCreate, conn: DbConn, user: CurrentUser,
                      settings: Settings, ctx: Context) -> InvitationPublic:
    """Invite someone by e-mail to a role over a property, building or unit."""
    target = invitations.InvitationTarget(
        body.email, body.role, body.property_id, body.building_id, body.unit_id,
        body.valid_from or date.today(), body.valid_to)
    return InvitationPublic(id=invitations.invite(conn, settings, user, target, ctx))


@router.post("/auth/invitations/accept")
def accept_invitation(body: InvitationAccept, request: Request, settings: Settings,
                      ctx: Context) -> AcceptedPublic:
    """Use a one-time invitation link: choose a password, receive the role."""
    request.app.state.login_limiter.hit(("invitation", ctx.source_address),
                                        "invitation attempts from this address")
    with request.app.state.pool.connection() as conn, conn.transaction():
        sessions.begin_as_app(conn)
        return AcceptedPublic(user_id=invitations.accept(
            conn, settings, body.token, body.password, body.display_name, ctx))


@router.get("/audit")
def read_audit(conn: DbConn, user: CurrentUser,
               since: Annotated[datetime | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[AuditEventPublic]:
    """Security events within the reader's scope, newest first."""
    return [AuditEventPublic(**row) for row in audit.read(conn, user, since=since, limit=limit)]
