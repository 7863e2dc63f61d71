"""Append-only audit log of security-relevant events.

Events: ``login`` (ok/failed/denied), ``logout``, ``logout_all``,
``refresh_reuse``, ``totp_enrolled``, ``recovery_code_used``, ``api_key_created``,
``api_key_revoked``, ``invitation_sent``, ``invitation_accepted``,
``role_granted``; later issues add ``export``, ``bank_import``,
``ledger_correction`` and ``ticket_visibility``.  Each row names the actor, the
time, the object, the request id and the source address.  The table refuses
UPDATE, DELETE and TRUNCATE by trigger (0005_identity.sql), and the application
role holds only SELECT and INSERT on it.

A failed login is recorded in its own transaction, so the record survives the
401 that rolls the request back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from api.auth.principal import Place, Principal


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    source_address: str


def record(conn: psycopg.Connection, event: str, *, ctx: RequestContext | None,
           actor: Principal | None = None, actor_user_id: int | None = None,
           actor_label: str = "", outcome: str = "ok", obj: str = "",
           place: Place | None = None, detail: dict[str, Any] | None = None) -> None:
    user_id = actor_user_id
    key_id = None
    if actor is not None:
        actor_label = actor_label or actor.label
        if actor.kind == "user":
            user_id = actor.id
        else:
            key_id = actor.id
    conn.execute(
        """INSERT INTO audit_log (event, outcome, actor_user_id, actor_api_key_id, actor_label,
                                  object, property_id, building_id, unit_id, request_id,
                                  source_address, detail)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (event, outcome, user_id, key_id, actor_label, obj,
         place.property_id if place else None, place.building_id if place else None,
         place.unit_id if place else None, ctx.request_id if ctx else None,
         ctx.source_address if ctx else None, Jsonb(detail or {})),
    )


def read(conn: psycopg.Connection, principal: Principal, *, since: datetime | None = None,
         limit: int = 200) -> list[dict[str, Any]]:
    """Events the reader may see: everything for installation-wide readers, otherwise
    events placed inside one of their property/building scopes (admin, accountant)."""
    scopes = [a for a in principal.assignments if a.role in ("admin", "accountant")]
    everything = any(a.level == "installation" for a in scopes)
    property_ids = [a.property_id for a in scopes if a.property_id is not None]
    building_ids = [a.building_id for a in scopes if a.building_id is not None]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT id, at, event, outcome, actor_user_id, actor_api_key_id, actor_label,
                      object, property_id, building_id, unit_id, request_id,
                      source_address, detail
                 FROM audit_log
                WHERE (%(since)s::timestamptz IS NULL OR at >= %(since)s)
                  AND (%(all)s OR property_id = ANY(%(props)s) OR building_id = ANY(%(blds)s)
                       OR unit_id IN (SELECT u.id FROM units u
                                       WHERE u.building_id = ANY(%(blds)s)))
                ORDER BY id DESC LIMIT %(limit)s""",
            {"since": since, "all": everything, "props": property_ids, "blds": building_ids,
             "limit": limit},
        ).fetchall()
