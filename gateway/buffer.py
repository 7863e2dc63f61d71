"""The store-and-forward buffer: every reading lands in SQLite before anything else.

Life of a reading::

    poll ──append()──▶ buffer (seq assigned) ──lease_batch()──▶ uplink.deliver()
                                ▲                                      │
                                └──────────── ack(batch) ◀── server confirmed

Only ``ack`` deletes, and only after the server confirmed the batch, so a
reading leaves the buffer either delivered or counted as dropped.

Durability (``PRAGMA journal_mode=WAL`` + ``PRAGMA synchronous=FULL``):
  In WAL mode SQLite offers ``NORMAL`` (the WAL is synced only at checkpoints:
  "a transaction committed in WAL mode with synchronous=NORMAL might roll back
  following a power loss", sqlite.org/pragma.html#pragma_synchronous) and
  ``FULL`` (the WAL is synced at every commit).  ``append`` returning means the
  readings are buffered, so we need ``FULL``: a power cut after ``append``
  must not lose them.  The price is one fsync per commit; the poller commits
  one transaction per cycle (not per reading), so it is one fsync per cycle.
  ``benchmarks/test_bench_gateway_buffer.py`` measures the throughput.
  A lost *delete* (power cut right after ``ack``) would only re-send a batch,
  which the server's idempotent insert absorbs.

Sequence numbers: ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` never reuses a
number, even after the buffer empties, so a batch id ``"<first>-<last>"`` is
unique per gateway and stable across re-sends and restarts.

Bounds and policy when full — **the oldest readings are dropped and counted**:
  * size: at most ``max_readings`` rows (a count, not bytes: rows are small and
    alike, so the count bounds the file, and operators think in readings);
  * age: readings whose ``read_at`` is older than ``max_age_s`` are dropped.
  Why drop the oldest rather than pause polling: the registers we bill are
  cumulative counters.  The newest reading of a meter carries all consumption
  up to now, so losing old intermediate readings loses interval resolution but
  not the bill's totals, while pausing would lose exactly the readings the
  next bill needs.  Readings of a batch in flight (leased) are not dropped:
  the uplink may be storing them right now, and counting them as dropped would
  make the count wrong; so the buffer may exceed its bound by one batch.
  Dropped counts are persisted in the same file (they survive restarts) and
  exposed as ``gateway_readings_dropped_total{reason="full"|"age"}``.

Rejected readings: when the server refuses a reading as it is (the uplink
raises ``BatchRejectedError``: a value the database's constraints refuse), re-sending
cannot help, and retrying it for ever would block every reading behind it.
``set_aside`` moves it to the ``rejected`` table of the same file, with the
reason; nothing is deleted, the count is ``gateway_readings_rejected``, and an
operator can fix and re-queue the rows by hand.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from gateway.reading import Reading
from gateway.uplink import ReadingBatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buffered (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    meter_serial TEXT NOT NULL,
    register     TEXT NOT NULL,
    read_at_us   INTEGER NOT NULL,   -- microseconds since the Unix epoch, UTC
    value        TEXT NOT NULL       -- the exact decimal, as text
);
CREATE INDEX IF NOT EXISTS buffered_read_at ON buffered (read_at_us);
CREATE TABLE IF NOT EXISTS rejected (   -- readings the server refused as they are
    seq          INTEGER PRIMARY KEY,
    meter_serial TEXT NOT NULL,
    register     TEXT NOT NULL,
    read_at_us   INTEGER NOT NULL,
    value        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    rejected_at_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('dropped_full', 0), ('dropped_age', 0);
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _to_us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Lease:
    """A batch handed to an uplink: its readings stay buffered until ``ack``."""

    first_seq: int
    last_seq: int
    batch: ReadingBatch


@dataclass(frozen=True, slots=True)
class BufferState:
    depth: int
    oldest_read_at: datetime | None
    dropped_full: int
    dropped_age: int
    last_seq: int
    rejected: int = 0


class ReadingBuffer:
    """One SQLite file; used from one thread (the gateway's event loop)."""

    def __init__(self, path: Path, *, max_readings: int, max_age_s: float,
                 gateway_id: str = "gateway", synchronous: str = "FULL") -> None:
        if max_readings < 1 or max_age_s <= 0:
            raise ValueError("buffer bounds must be positive")
        if synchronous not in ("FULL", "NORMAL", "OFF", "EXTRA"):
            raise ValueError(f"synchronous = {synchronous!r}: not a SQLite setting")
        self.path = path
        self.max_readings = max_readings
        self.max_age_s = max_age_s
        self.gateway_id = gateway_id
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per append.
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        self._lease: Lease | None = None
        # Kept in memory: count(*) scans the table, too slow per cycle for millions of rows.
        self._depth: int = self._db.execute("SELECT count(*) FROM buffered").fetchone()[0]

    # -- writing ---------------------------------------------------------------
    def append(self, readings: list[Reading], now: datetime) -> int:
        """Store ``readings`` durably in one transaction; returns how many were dropped."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO buffered (meter_serial, register, read_at_us, value) "
                "VALUES (?, ?, ?, ?)",
                [(r.meter_serial, r.register, _to_us(r.read_at), str(r.value))
                 for r in readings],
            )
            dropped = self._enforce_bounds(now, added=len(readings))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._depth = db.execute("SELECT count(*) FROM buffered").fetchone()[0]
            raise
        return dropped

    def enforce_bounds(self, now: datetime) -> int:
        """Apply the age bound while nothing is polled (e.g. a long uplink outage)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            dropped = self._enforce_bounds(now, added=0)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._depth = db.execute("SELECT count(*) FROM buffered").fetchone()[0]
            raise
        return dropped

    def _protected(self) -> tuple[int, int]:
        return (self._lease.first_seq, self._lease.last_seq) if self._lease else (0, -1)

    def _enforce_bounds(self, now: datetime, added: int) -> int:
        db = self._db
        self._depth += added
        lo, hi = self._protected()
        cutoff = _to_us(now) - int(self.max_age_s * 1_000_000)
        aged = 0
        oldest = db.execute("SELECT min(read_at_us) FROM buffered").fetchone()[0]  # index
        if oldest is not None and oldest < cutoff:
            aged = db.execute(
                "DELETE FROM buffered WHERE read_at_us < ? AND seq NOT BETWEEN ? AND ?",
                (cutoff, lo, hi)).rowcount
            self._depth -= aged
        excess = self._depth - self.max_readings
        full = 0
        if excess > 0:
            full = db.execute(
                "DELETE FROM buffered WHERE seq IN (SELECT seq FROM buffered "
                "WHERE seq NOT BETWEEN ? AND ? ORDER BY seq LIMIT ?)",
                (lo, hi, excess)).rowcount
            self._depth -= full
        if aged:
            db.execute("UPDATE counters SET value = value + ? WHERE name = 'dropped_age'",
                       (aged,))
        if full:
            db.execute("UPDATE counters SET value = value + ? WHERE name = 'dropped_full'",
                       (full,))
        return aged + full

    # -- forwarding ------------------------------------------------------------
    def lease_batch(self, limit: int) -> Lease | None:
        """The oldest ``limit`` readings as a batch (None when empty); one lease at a time."""
        if self._lease is not None:
            raise RuntimeError("a batch is already leased; ack or release it first")
        rows = self._db.execute(
            "SELECT seq, meter_serial, register, read_at_us, value FROM buffered "
            "ORDER BY seq LIMIT ?", (limit,)).fetchall()
        if not rows:
            return None
        readings = tuple(Reading(serial, register, _from_us(us), Decimal(value))
                         for _, serial, register, us, value in rows)
        first, last = rows[0][0], rows[-1][0]
        batch = ReadingBatch(self.gateway_id, f"{first}-{last}", readings)
        self._lease = Lease(first, last, batch)
        return self._lease

    def ack(self, lease: Lease) -> int:
        """The server confirmed ``lease``: delete its readings; returns how many."""
        if self._lease is not lease:
            raise RuntimeError(f"batch {lease.batch.batch_id} is not the leased batch")
        deleted = self._db.execute("DELETE FROM buffered WHERE seq BETWEEN ? AND ?",
                                   (lease.first_seq, lease.last_seq)).rowcount
        self._depth -= deleted
        self._lease = None
        return deleted

    def set_aside(self, lease: Lease, reason: str, now: datetime) -> int:
        """The server refused ``lease`` as it is: move its readings to ``rejected``."""
        if self._lease is not lease:
            raise RuntimeError(f"batch {lease.batch.batch_id} is not the leased batch")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT OR REPLACE INTO rejected (seq, meter_serial, register, read_at_us, value,"
                " reason, rejected_at_us) SELECT seq, meter_serial, register, read_at_us, value,"
                " ?, ? FROM buffered WHERE seq BETWEEN ? AND ?",
                (reason, _to_us(now), lease.first_seq, lease.last_seq))
            moved = db.execute("DELETE FROM buffered WHERE seq BETWEEN ? AND ?",
                               (lease.first_seq, lease.last_seq)).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._depth -= moved
        self._lease = None
        return moved

    def rejected(self) -> list[tuple[Reading, str]]:
        """The readings set aside, oldest first, with the server's reason."""
        rows = self._db.execute("SELECT meter_serial, register, read_at_us, value, reason "
                                "FROM rejected ORDER BY seq").fetchall()
        return [(Reading(serial, register, _from_us(us), Decimal(value)), reason)
                for serial, register, us, value, reason in rows]

    def release(self, lease: Lease) -> None:
        """Delivery failed: the readings stay buffered for the next attempt."""
        if self._lease is lease:
            self._lease = None

    # -- reporting -------------------------------------------------------------
    def state(self) -> BufferState:
        db = self._db
        oldest = db.execute("SELECT min(read_at_us) FROM buffered").fetchone()[0]
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        seq_row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'buffered'").fetchone()
        return BufferState(
            depth=self._depth,
            oldest_read_at=_from_us(oldest) if oldest is not None else None,
            dropped_full=counters["dropped_full"],
            dropped_age=counters["dropped_age"],
            last_seq=seq_row[0] if seq_row else 0,
            rejected=db.execute("SELECT count(*) FROM rejected").fetchone()[0],
        )

    def close(self) -> None:
        self._db.close()
