"""The readings write contract: COPY into a staging table, then an idempotent insert.

Shared by the gateway's direct PostgreSQL uplink and the server's ingest
workers, so every path into ``readings`` behaves the same:

1. ``COPY … FROM STDIN (FORMAT BINARY)`` into a session-temporary staging table
   (no per-row round trips, no SQL parsing per row);
2. ``INSERT INTO readings … SELECT … JOIN meters ON serial … ON CONFLICT DO
   NOTHING``: a reading already stored (same meter, register, instant) is a
   no-op, so a batch re-sent after a lost acknowledgement adds nothing;
3. readings of serials the server does not know go to ``readings_quarantine``
   instead of being dropped.

All three steps run in one transaction: a batch is stored whole or not at all.
The contract the gateway relies on is the table layout in
``api/db/migrations/0002_readings.sql``; the gateway never imports ``api``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from gateway.errors import UplinkError
from gateway.reading import Reading

_STAGING = "meterbill_readings_staging"
_CREATE_STAGING = f"""
    CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (
        meter_serial text NOT NULL,
        register     text NOT NULL,
        read_at      timestamptz NOT NULL,
        value        numeric NOT NULL
    ) ON COMMIT DELETE ROWS"""
_INSERT = f"""
    INSERT INTO readings (meter_id, register, read_at, value)
    SELECT m.id, s.register, s.read_at, s.value
      FROM {_STAGING} s JOIN meters m ON m.serial = s.meter_serial
    ON CONFLICT (meter_id, register, read_at) DO NOTHING"""
_QUARANTINE = f"""
    INSERT INTO readings_quarantine (meter_serial, register, read_at, value, reason)
    SELECT s.meter_serial, s.register, s.read_at, s.value, 'unknown meter serial'
      FROM {_STAGING} s
     WHERE NOT EXISTS (SELECT 1 FROM meters m WHERE m.serial = s.meter_serial)
    ON CONFLICT DO NOTHING"""


@dataclass(frozen=True, slots=True)
class WriteResult:
    received: int
    inserted: int
    quarantined: int

    @property
    def duplicates(self) -> int:
        """Readings the server already had (re-sent batches)."""
        return self.received - self.inserted - self.quarantined


def write_readings(conn: psycopg.Connection, readings: Iterable[Reading]) -> WriteResult:
    """Store a batch atomically and idempotently; returns what happened to it."""
    batch = list(readings)
    if not batch:
        return WriteResult(0, 0, 0)
    first = min(r.read_at for r in batch)
    last = max(r.read_at for r in batch)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(_CREATE_STAGING)
            cur.execute(
                "SELECT meterbill_ensure_reading_partitions(%s, %s)",
                (first, last + timedelta(seconds=1)),
            )
            with cur.copy(
                f"COPY {_STAGING} (meter_serial, register, read_at, value) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["text", "text", "timestamptz", "numeric"])
                for r in batch:
                    copy.write_row((r.meter_serial, r.register, r.read_at, r.value))
            cur.execute(_INSERT)
            inserted = cur.rowcount
            cur.execute(_QUARANTINE)
            quarantined = cur.rowcount
    except psycopg.Error as exc:
        raise UplinkError(
            f"writing {len(batch)} readings ({first.isoformat()} .. {last.isoformat()}) "
            f"failed: {exc.diag.message_primary or exc}"
        ) from exc
    return WriteResult(len(batch), inserted, quarantined)
