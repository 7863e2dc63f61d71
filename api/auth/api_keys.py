"""API keys for gateways and integrations: shown once, stored hashed, scoped, expiring.

A key reads ``mbk_<prefix>_<secret>``: the prefix (public, 8 hex digits) finds
the row, the SHA-256 of the whole key proves it.  A key holds a list of actions
(from ``api.permissions.GRANTS``, e.g. ``readings:write``) over one scope (a
property, a building or a unit; none = the whole installation).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

import psycopg
from psycopg.rows import dict_row

from api.auth.errors import AuthenticationError
from api.auth.principal import Assignment, Principal
from api.auth.tokens import sha256_hex
from api.errors import InvalidRequestError, NotFoundError
from api.permissions import GRANTS

KEY_PREFIX = "mbk_"


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    key: str  # the only time the secret exists outside the caller's hands
    prefix: str
    expires_at: datetime


def create(conn: psycopg.Connection, *, name: str, actions: list[str], expires_at: datetime,
           property_id: int | None = None, building_id: int | None = None,
           unit_id: int | None = None, created_by: int | None = None) -> CreatedKey:
    unknown = sorted(set(actions) - set(GRANTS) | ({"self"} & set(actions)))
    if not actions or unknown:
        raise InvalidRequestError(
            f"actions: unknown or not grantable to a key: {unknown or '(none given)'}; "
            f"choose from {sorted(a for a in GRANTS if a != 'self')}", field="actions")
    if sum(x is not None for x in (property_id, building_id, unit_id)) > 1:
        raise InvalidRequestError("give at most one of property, building, unit", field="scope")
    if expires_at <= datetime.now(UTC):
        raise InvalidRequestError("expires_at: must be in the future", field="expires_at")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = conn.execute(
        """INSERT INTO api_keys (prefix, key_hash, name, actions, property_id, building_id,
                                 unit_id, created_by, expires_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (prefix, sha256_hex(key), name, sorted(set(actions)), property_id, building_id,
         unit_id, created_by, expires_at),
    ).fetchone()
    assert row is not None
    return CreatedKey(int(row[0]), key, prefix, expires_at)


def list_keys(conn: psycopg.Connection) -> list[dict[str, object]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT id, prefix, name, actions, property_id, building_id, unit_id,
                      created_at, expires_at, revoked_at, last_used_at
                 FROM api_keys ORDER BY id""").fetchall()


def revoke(conn: psycopg.Connection, key_id: int) -> None:
    row = conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s RETURNING id",
        (key_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"API key {key_id} not found")


def authenticate(conn: psycopg.Connection, key: str) -> Principal:
    prefix, _, secret = key.removeprefix(KEY_PREFIX).partition("_")
    if not prefix or not secret:
        raise AuthenticationError("malformed API key")
    row = conn.execute(
        """SELECT id, key_hash, name, actions, property_id, building_id, unit_id,
                  revoked_at, expires_at > now() FROM api_keys WHERE prefix = %s""", (prefix,)
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[1]), sha256_hex(key)):
        raise AuthenticationError("unknown API key")
    key_id, _, name, actions, property_id, building_id, unit_id, revoked_at, live = row
    if revoked_at is not None:
        raise AuthenticationError("this API key was revoked")
    if not live:
        raise AuthenticationError("this API key has expired")
    conn.execute("UPDATE api_keys SET last_used_at = now() WHERE id = %s", (key_id,))
    scope = Assignment("api_key", property_id, building_id, unit_id, date.min, None)
    return Principal("api_key", int(key_id), f"api-key:{name}", (scope,),
                     actions=frozenset(actions))
