"""Idempotency keys for writes from outside (API calls, payment imports).

Semantics (as Stripe's and the IETF draft ``Idempotency-Key`` header): the first
request with a key runs and its result is stored with a hash of the request body;
a repeat with the same key and the same body returns the stored result without
running again; the same key with a different body is a client error and refused
with 409.  The key row is inserted *before* the work, in the same database
transaction: a concurrent repeat waits on the row lock and then sees the result,
and if the work fails, the key is rolled back with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.errors import ConflictError


def body_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON of a request body (key order does not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_idempotent(conn: psycopg.Connection, scope: str, key: str, body: Any,
                   action: Callable[[], Any]) -> tuple[Any, bool]:
    """Run ``action`` once per (scope, key); returns (result, replayed).

    ``action`` runs inside the same database transaction as the key row and must
    return something JSON-serializable (it is what a replay returns).
    """
    digest = body_hash(body)
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (%s, %s, %s) "
            "ON CONFLICT (scope, key) DO NOTHING RETURNING key", (scope, key, digest),
        ).fetchone()
        if row is None:
            stored = conn.execute(
                "SELECT request_hash, response FROM idempotency_keys "
                "WHERE scope = %s AND key = %s", (scope, key)).fetchone()
            assert stored is not None
            if stored[0] != digest:
                raise ConflictError(
                    f"idempotency key {key!r} was already used with a different request body",
                    field="Idempotency-Key")
            return stored[1], True
        result = action()
        conn.execute("UPDATE idempotency_keys SET response = %s WHERE scope = %s AND key = %s",
                     (Jsonb(result), scope, key))
    return result, False
