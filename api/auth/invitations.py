"""Invitations: a manager invites a tenant or owner by e-mail with a one-time link.

The link carries a 256-bit token; only its SHA-256 is stored.  Accepting it
once sets the password (for a new account) and grants the role over the
invited scope; a second use, or one after ``invitation_ttl``, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg

from api import audit
from api.auth.authorization import decide
from api.auth.mailer import send_mail
from api.auth.passwords import check_password_policy, hash_password
from api.auth.principal import Place, Principal
from api.auth.settings import AuthSettings
from api.auth.tokens import new_secret, sha256_hex
from api.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from api.permissions import INVITABLE_BY_MANAGER, ROLES


@dataclass(frozen=True, slots=True)
class InvitationTarget:
    email: str
    role: str
    property_id: int | None
    building_id: int | None
    unit_id: int | None
    valid_from: date
    valid_to: date | None


def place_of(conn: psycopg.Connection, target: InvitationTarget) -> Place | None:
    """Where the invited role applies; None = the whole installation (admin only)."""
    given = [x for x in (target.property_id, target.building_id, target.unit_id) if x is not None]
    if not given and target.role == "admin":
        return None
    if len(given) != 1:
        raise InvalidRequestError("give exactly one of property_id, building_id, unit_id",
                                  field="unit_id")
    if target.unit_id is not None:
        row = conn.execute("SELECT * FROM meterbill_unit_place(%s)", (target.unit_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"unit {target.unit_id} not found", field="unit_id")
        return Place(int(row[2]), int(row[1]), int(row[0]))
    if target.building_id is not None:
        row = conn.execute("SELECT * FROM meterbill_building_place(%s)",
                           (target.building_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"building {target.building_id} not found", field="building_id")
        return Place(int(row[1]), int(row[0]))
    row = conn.execute("SELECT id FROM properties WHERE id = %s", (target.property_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"property {target.property_id} not found", field="property_id")
    return Place(int(row[0]))


def invite(conn: psycopg.Connection, settings: AuthSettings, inviter: Principal,
           target: InvitationTarget, ctx: audit.RequestContext) -> int:
    """Record the invitation and send its link; returns the invitation id."""
    if target.role not in ROLES:
        raise InvalidRequestError(f"role: unknown role {target.role!r}", field="role")
    if target.valid_to is not None and target.valid_to < target.valid_from:
        raise InvalidRequestError("valid_to: before valid_from", field="valid_to")
    place = place_of(conn, target)
    today = date.today()
    # Installation-wide inviters: an admin without scope, or an unscoped API key that the
    # operator made with shell access (how the first admin is invited).
    installation = any(a.level == "installation" and a.valid_on(today)
                       and (a.role == "admin" or inviter.kind == "api_key")
                       for a in inviter.assignments)
    if place is None:
        if not installation:
            raise ForbiddenError("only an installation-wide admin may invite one")
        decide(inviter, "invitations:create", None, today=today,
               require_totp_for_staff=settings.require_totp_for_staff)
        is_admin = True
    else:
        decide(inviter, "invitations:create", place, today=today, not_found="scope not found",
               require_totp_for_staff=settings.require_totp_for_staff)
        is_admin = installation or any(
            a.role == "admin" and a.valid_on(today) and a.covers(place)
            for a in inviter.assignments)
    if not is_admin and target.role not in INVITABLE_BY_MANAGER:
        raise ForbiddenError(f"a property manager may not hand out the role {target.role}")
    token = new_secret()
    row = conn.execute(
        """INSERT INTO invitations (token_hash, email, role, property_id, building_id, unit_id,
                                    valid_from, valid_to, invited_by, expires_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + %s) RETURNING id""",
        (sha256_hex(token), target.email, target.role, target.property_id, target.building_id,
         target.unit_id, target.valid_from, target.valid_to,
         inviter.id if inviter.kind == "user" else None, settings.invitation_ttl),
    ).fetchone()
    assert row is not None
    audit.record(conn, "invitation_sent", ctx=ctx, actor=inviter, obj=f"invitation:{row[0]}",
                 place=place, detail={"email": target.email, "role": target.role})
    link = f"{settings.public_base_url.rstrip('/')}/auth/invitations/accept?token={token}"
    days = int(settings.invitation_ttl.total_seconds() // 86400)
    send_mail(settings.smtp_host, settings.smtp_port, settings.mail_from, target.email,
              "Your meterbill invitation",
              f"You have been invited to meterbill as {target.role.replace('_', ' ')}.\n\n"
              f"Open this link within {days} days to choose your password "
              f"(it works once):\n{link}\n")
    return int(row[0])


def accept(conn: psycopg.Connection, settings: AuthSettings, token: str, password: str,
           display_name: str, ctx: audit.RequestContext) -> int:
    """Use the invitation once; returns the user id."""
    row = conn.execute(
        """SELECT id, email, role, property_id, building_id, unit_id, valid_from, valid_to,
                  invited_by, accepted_at, expires_at > now()
             FROM invitations WHERE token_hash = %s FOR UPDATE""", (sha256_hex(token),)
    ).fetchone()
    if row is None:
        raise NotFoundError("invitation not found", field="token")
    (inv_id, email, role, property_id, building_id, unit_id, valid_from, valid_to, invited_by,
     accepted_at, live) = row
    if accepted_at is not None:
        raise ConflictError("this invitation was already used", field="token")
    if not live:
        raise ConflictError("this invitation has expired: ask for a new one", field="token")
    user = conn.execute("SELECT id, password_hash FROM users WHERE lower(email) = lower(%s)",
                        (email,)).fetchone()
    if user is None:
        check_password_policy(password)
        created = conn.execute(
            """INSERT INTO users (email, display_name, password_hash) VALUES (%s, %s, %s)
               RETURNING id""",
            (email, display_name, hash_password(password, settings.password_hash))).fetchone()
        assert created is not None
        user_id = int(created[0])
    else:
        user_id = int(user[0])
        if user[1] is None:
            check_password_policy(password)
            conn.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                         (hash_password(password, settings.password_hash), user_id))
    conn.execute(
        """INSERT INTO role_assignments (user_id, role, property_id, building_id, unit_id,
                                         valid_from, valid_to, granted_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (user_id, role, property_id, building_id, unit_id, valid_from, valid_to, invited_by))
    conn.execute("UPDATE invitations SET accepted_at = now() WHERE id = %s", (inv_id,))
    audit.record(conn, "invitation_accepted", ctx=ctx, actor_user_id=user_id, actor_label=email,
                 obj=f"invitation:{inv_id}")
    audit.record(conn, "role_granted", ctx=ctx, actor_user_id=invited_by, obj=f"user:{user_id}",
                 detail={"role": role, "property_id": property_id, "building_id": building_id,
                         "unit_id": unit_id})
    return user_id
