"""``meterbill store`` against a real database (METERBILL_DSN)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from meterbill.store_cli import app, parse_keep
from tests.store.building import add_meter, add_readings, make_building


def test_refresh_status_and_retention_commands(db_dsn: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        b, units = make_building(conn)
        meter = add_meter(conn, b, "E1", units[0])
        add_readings(conn, meter, [("2026-02-01 00:00+00", "1"), ("2026-02-01 01:00+00", "2")])
    monkeypatch.setenv("METERBILL_DSN", db_dsn)
    runner = CliRunner()
    out = runner.invoke(app, ["status"])
    assert out.exit_code == 0, out.output
    assert "readings_daily: never refreshed" in out.output
    out = runner.invoke(app, ["refresh", "--up-to", "2026-02-02T00:00:00+00:00"])
    assert out.exit_code == 0, out.output
    assert "readings_hourly refreshed to 2026-02-02T00:00:00+00:00" in out.output
    assert "readings_monthly" in out.output
    out = runner.invoke(app, ["retention", "set", "readings", "2y"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["status"])
    assert "retention readings: 730 days" in out.output
    out = runner.invoke(app, ["retention", "set", "readings", "2 weeks"])
    assert out.exit_code == 2
    with psycopg.connect(db_dsn) as conn:
        count = conn.execute("SELECT count(*) FROM readings_hourly").fetchone()
    assert count == (2,)


def test_validate_command_stores_and_prints_flags(db_dsn: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        b, units = make_building(conn)
        meter = add_meter(conn, b, "E9", units[0])
        add_readings(conn, meter, [("2026-02-01 00:00+00", "10"), ("2026-02-02 00:00+00", "12"),
                                   ("2026-02-03 00:00+00", "11")])
    monkeypatch.setenv("METERBILL_DSN", db_dsn)
    out = CliRunner().invoke(app, ["validate", "--from", "2026-02-01T00:00:00+00:00",
                                   "--to", "2026-03-01T00:00:00+00:00"])
    assert out.exit_code == 0, out.output
    assert "E9 energy_import_kwh negative" in out.output
    assert "1 flags stored" in out.output
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT kind FROM consumption_flags").fetchall() == [("negative",)]
    out = CliRunner().invoke(app, ["validate", "--from", "2026-02-01T00:00:00+00:00",
                                   "--to", "2026-03-01T00:00:00+00:00", "--meter", "NOPE"])
    assert out.exit_code == 2 and "meter 'NOPE' not found" in out.output


def test_keep_parses_units_and_forever() -> None:
    assert parse_keep("90d") == timedelta(days=90)
    assert parse_keep("10y") == timedelta(days=3650)
    assert parse_keep("forever") is None
