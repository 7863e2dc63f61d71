"""Retention of raw readings and rollups: how long each is kept, and applying it.

Settings live in ``meterbill_retention`` (NULL keeps a relation for ever).
``set_retention`` also replaces the TimescaleDB retention policy; on the
native path ``apply_retention`` is what a scheduled job runs (``meterbill
store retention apply``).  Raw readings go a whole month (partition or
chunk) at a time, and only once the month lies wholly before the cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from api.errors import InvalidRequestError


@dataclass(frozen=True, slots=True)
class RetentionResult:
    relation: str
    cutoff: datetime
    partitions_dropped: int
    rows_deleted: int


def retention_settings(conn: psycopg.Connection) -> dict[str, timedelta | None]:
    rows = conn.execute("SELECT relation, keep FROM meterbill_retention ORDER BY relation")
    return {str(r[0]): r[1] for r in rows.fetchall()}


def set_retention(conn: psycopg.Connection, relation: str, keep: timedelta | None) -> None:
    """Keep ``relation`` for ``keep`` (None: for ever)."""
    try:
        with conn.transaction():  # a refused setting leaves the caller's transaction usable
            conn.execute("SELECT meterbill_set_retention(%s, %s)", (relation, keep))
    except psycopg.errors.RaiseException as exc:
        raise InvalidRequestError(exc.diag.message_primary or str(exc),
                                  field="relation" if "unknown" in str(exc) else "keep") from exc


def apply_retention(conn: psycopg.Connection, at: datetime | None = None) -> list[RetentionResult]:
    """Remove what is older than each relation's retention, as of ``at`` (default: now)."""
    rows = conn.execute("SELECT * FROM meterbill_apply_retention(coalesce(%s, now()))",
                        (at,)).fetchall()
    return [RetentionResult(str(r[0]), r[1], int(r[2]), int(r[3])) for r in rows]
