"""The SQLite store-and-forward buffer: durable settings, sequence numbers, bounds, counts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.buffer import ReadingBuffer
from gateway.reading import Reading

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def readings(start: int, count: int, serial: str = "S1") -> list[Reading]:
    return [Reading(serial, "energy_import_kwh", T0 + timedelta(minutes=i), Decimal(f"{i}.25"))
            for i in range(start, start + count)]


def counted(buf: ReadingBuffer) -> int:
    return buf._db.execute("SELECT count(*) FROM buffered").fetchone()[0]


def make(tmp_path: Path, **kw: object) -> ReadingBuffer:
    kw = {"max_readings": 1000, "max_age_s": 10 * 86400, **kw}
    return ReadingBuffer(tmp_path / "buf.sqlite3", **kw)  # type: ignore[arg-type]


def test_buffer_uses_wal_and_synchronous_full(tmp_path: Path) -> None:
    buf = make(tmp_path)
    mode = buf._db.execute("PRAGMA journal_mode").fetchone()[0]
    sync = buf._db.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, sync) == ("wal", 2)  # 2 = FULL


def test_readings_come_back_exactly_and_in_order_as_one_batch(tmp_path: Path) -> None:
    buf = make(tmp_path, gateway_id="gw-7")
    given = readings(0, 5)
    buf.append(given, T0)
    lease = buf.lease_batch(100)
    assert lease is not None
    assert list(lease.batch.readings) == given
    assert lease.batch.gateway_id == "gw-7"
    assert lease.batch.batch_id == f"{lease.first_seq}-{lease.last_seq}" == "1-5"


def test_readings_stay_until_acked_and_survive_reopening(tmp_path: Path) -> None:
    buf = make(tmp_path)
    buf.append(readings(0, 3), T0)
    lease = buf.lease_batch(2)
    assert lease is not None
    buf.release(lease)  # delivery failed
    buf.close()
    again = make(tmp_path)
    lease = again.lease_batch(2)
    assert lease is not None and lease.batch.batch_id == "1-2"
    assert again.ack(lease) == 2
    rest = again.lease_batch(10)
    assert rest is not None and list(rest.batch.readings) == readings(2, 1)


def test_sequence_numbers_are_never_reused_after_the_buffer_empties(tmp_path: Path) -> None:
    buf = make(tmp_path)
    buf.append(readings(0, 2), T0)
    lease = buf.lease_batch(10)
    assert lease is not None
    buf.ack(lease)
    buf.close()
    buf = make(tmp_path)
    buf.append(readings(2, 2), T0)
    lease = buf.lease_batch(10)
    assert lease is not None and lease.batch.batch_id == "3-4"
    assert buf.state().last_seq == 4


def test_full_buffer_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    buf = make(tmp_path, max_readings=10)
    for cycle in range(4):
        buf.append(readings(cycle * 4, 4), T0 + timedelta(hours=1))
    state = buf.state()
    assert (state.depth, state.dropped_full, state.dropped_age) == (10, 6, 0)
    assert counted(buf) == 10
    lease = buf.lease_batch(100)
    assert lease is not None and list(lease.batch.readings) == readings(6, 10)


def test_a_leased_batch_is_not_dropped_while_the_uplink_may_be_storing_it(
        tmp_path: Path) -> None:
    buf = make(tmp_path, max_readings=4)
    buf.append(readings(0, 4), T0)
    lease = buf.lease_batch(2)  # seq 1-2 in flight
    assert lease is not None
    buf.append(readings(4, 2), T0)  # over the bound by 2: drops seq 3, 4, not 1, 2
    assert buf.state().dropped_full == 2
    assert buf.ack(lease) == 2
    rest = buf.lease_batch(10)
    assert rest is not None and list(rest.batch.readings) == readings(4, 2)
    assert buf.state().depth == counted(buf) == 2


def test_readings_older_than_the_age_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    buf = make(tmp_path, max_age_s=3600)
    buf.append(readings(0, 3), T0)  # read at T0, T0+1min, T0+2min
    assert buf.enforce_bounds(T0 + timedelta(hours=1, seconds=90)) == 2
    state = buf.state()
    assert (state.depth, state.dropped_age, state.oldest_read_at) == (
        1, 2, T0 + timedelta(minutes=2))


def test_dropped_counts_persist_across_restarts(tmp_path: Path) -> None:
    buf = make(tmp_path, max_readings=2)
    buf.append(readings(0, 5), T0)
    buf.close()
    assert make(tmp_path, max_readings=2).state().dropped_full == 3


def test_an_append_that_fails_stores_nothing(tmp_path: Path) -> None:
    buf = make(tmp_path)
    buf.append(readings(0, 1), T0)
    buf._db.execute("CREATE TRIGGER no_s9 BEFORE INSERT ON buffered WHEN NEW.meter_serial = 'S9'"
                    " BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(sqlite3.IntegrityError):
        buf.append(readings(1, 2) + readings(3, 1, serial="S9"), T0)
    assert buf.state().depth == counted(buf) == 1


def test_only_one_batch_is_leased_at_a_time(tmp_path: Path) -> None:
    buf = make(tmp_path)
    buf.append(readings(0, 3), T0)
    assert buf.lease_batch(1) is not None
    with pytest.raises(RuntimeError, match="already leased"):
        buf.lease_batch(1)


def test_set_aside_moves_a_refused_batch_and_keeps_it_across_restarts(tmp_path: Path) -> None:
    buf = make(tmp_path)
    buf.append(readings(0, 3), T0)
    lease = buf.lease_batch(1)
    assert lease is not None
    assert buf.set_aside(lease, "value out of range", T0) == 1
    assert buf.state().depth == counted(buf) == 2
    buf.close()
    again = make(tmp_path)
    assert again.state().rejected == 1
    assert again.rejected() == [(readings(0, 1)[0], "value out of range")]
    rest = again.lease_batch(10)
    assert rest is not None and list(rest.batch.readings) == readings(1, 2)
