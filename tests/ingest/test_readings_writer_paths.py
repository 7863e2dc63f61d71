"""The write contract's two paths (direct COPY, staging + ON CONFLICT) store the same thing."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from gateway.reading import Reading
from gateway.reading_columns import ReadingColumns
from gateway.readings_writer import WriteResult, write_columns, write_readings
from tests.ingest.conftest import register_meters, stored_readings

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def readings(serials: list[str], cycles: range) -> list[Reading]:
    return [Reading(serial, "energy_import_kwh", T0 + timedelta(minutes=15 * c),
                    Decimal(f"{100 + c}.{m}"))
            for c in cycles for m, serial in enumerate(serials)]


def as_rows(batch: list[Reading]) -> list[tuple[str, str, datetime, Decimal]]:
    return sorted({(r.meter_serial, r.register, r.read_at, r.value) for r in batch})


@pytest.fixture
def dsn(ingest_dsn: str) -> str:
    return ingest_dsn


def test_a_duplicate_inside_a_new_batch_is_stored_once(dsn: str, serials: list[str]) -> None:
    batch = readings(serials, range(4))
    with psycopg.connect(dsn, autocommit=True) as conn:
        result = write_readings(conn, batch + batch[5:6])  # the direct COPY hits the key
    assert result == WriteResult(21, 20, 0)
    assert stored_readings(dsn, serials) == as_rows(batch)


def test_an_overlapping_batch_adds_only_its_new_readings(dsn: str, serials: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        first = write_readings(conn, readings(serials, range(0, 4)))
        second = write_readings(conn, readings(serials, range(2, 6)))
    assert (first.inserted, second.inserted, second.duplicates) == (20, 10, 10)
    assert stored_readings(dsn, serials) == as_rows(readings(serials, range(6)))


def test_columns_and_readings_write_the_same_rows_and_quarantine_unknown_serials(
        dsn: str, serials: list[str]) -> None:
    stray = Reading("NOT-REGISTERED", "energy_import_kwh", T0, Decimal("7.5"))
    batch = [*readings(serials, range(3)), stray]
    with psycopg.connect(dsn, autocommit=True) as conn:
        result = write_columns(conn, ReadingColumns.from_readings(batch))
        again = write_readings(conn, batch)
        kept = conn.execute("SELECT meter_serial, value FROM readings_quarantine").fetchall()
    assert (result.inserted, result.quarantined) == (15, 1)
    assert (again.inserted, again.quarantined, again.duplicates) == (0, 0, 16)
    assert stored_readings(dsn, serials) == as_rows(batch[:-1])
    assert kept == [("NOT-REGISTERED", Decimal("7.5"))]


def test_a_concurrent_writer_of_the_same_keys_cannot_make_a_duplicate(
        dsn: str, serials: list[str]) -> None:
    """The overlap probe sees nothing (the other writer has not committed); the PK decides."""
    batch = readings(serials, range(3))
    other = psycopg.connect(dsn, application_name="other-writer")
    try:
        other.execute("SELECT 1")  # opens a transaction: the write below becomes a savepoint
        write_readings(other, batch[4:5])  # written, not committed
        outcome: dict[str, WriteResult] = {}

        def write() -> None:
            with psycopg.connect(dsn, autocommit=True, application_name="racer") as conn:
                outcome["result"] = write_readings(conn, batch)

        racer = threading.Thread(target=write)
        racer.start()
        deadline = time.monotonic() + 20
        with psycopg.connect(dsn, autocommit=True) as probe:
            while not probe.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name"
                                    " = 'racer' AND wait_event_type = 'Lock'").fetchone()[0]:
                assert time.monotonic() < deadline, "the racer never waited for the other writer"
                time.sleep(0.02)
        other.commit()
        racer.join(timeout=20)
    finally:
        other.close()
    assert outcome["result"] == WriteResult(15, 14, 0)
    assert stored_readings(dsn, serials) == as_rows(batch)


REGISTERS = ["a", "a" * 63, "a" * 64, "energy_import_kwh", "x9_", "A", "_a", "1a", "a-b", "aé",
             "a\n", ""]


def test_the_register_check_is_the_rule_of_0002(dsn: str) -> None:
    """0006 rewrote the CHECK for speed; it must accept exactly what 0002's regex did."""
    stored = {}
    for register in REGISTERS:
        try:
            with psycopg.connect(dsn) as conn:  # meter -1: no real meter; rolled back
                conn.execute("INSERT INTO readings (meter_id, register, read_at, value) "
                             "VALUES (-1, %s, %s, 1)", (register, T0))
                conn.rollback()
            stored[register] = True
        except psycopg.errors.CheckViolation:
            stored[register] = False
    assert stored == {r: re.fullmatch(r"[a-z][a-z0-9_]{0,62}", r) is not None for r in REGISTERS}


def test_a_meter_registered_after_its_readings_were_quarantined_is_found_next_batch(
        dsn: str, serials: list[str]) -> None:
    """Known serials are cached per connection, unknown ones are asked for again."""
    late = f"{serials[0]}-late"
    first = Reading(late, "energy_import_kwh", T0, Decimal("1"))
    second = Reading(late, "energy_import_kwh", T0 + timedelta(minutes=15), Decimal("2"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = write_readings(conn, [*readings(serials, range(1)), first])
        register_meters(dsn, [late])
        after = write_readings(conn, [*readings(serials, range(1, 2)), second])
    assert (before.inserted, before.quarantined) == (5, 1)
    assert (after.inserted, after.quarantined) == (6, 0)
    assert stored_readings(dsn, [late]) == [(late, "energy_import_kwh", second.read_at,
                                              Decimal("2"))]
