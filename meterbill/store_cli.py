"""``meterbill store refresh|status|validate|retention``: the readings store's maintenance.

Mounted by the CLI root as ``meterbill store``.  On the native path a cron
job or systemd timer runs ``store refresh`` and ``store retention apply``;
on TimescaleDB the policies added by migration 0003 do the same on their
own, and these commands are for "now" (after a bulk import, before a
billing run).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import typer

from api.errors import InvalidRequestError
from api.store import (
    apply_retention,
    refresh_rollups,
    retention_settings,
    rollup_state,
    set_retention,
    storage_kind,
    validate_meter,
)
from meterbill.cli_support import ConfigOption, clear_errors, settings_from
from meterbill.database import DatabaseHandle

app = typer.Typer(no_args_is_help=True, help="Readings store: rollups and retention.")
retention_app = typer.Typer(no_args_is_help=True, help="How long readings and rollups are kept.")
app.add_typer(retention_app, name="retention")

_UNITS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_keep(text: str) -> timedelta | None:
    """'forever', or a count and a unit: 90d, 12w, 18m (30 days), 10y (365 days)."""
    if text.strip().lower() in {"forever", "none", "never"}:
        return None
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in _UNITS or not number.isdigit() or int(number) == 0:
        raise InvalidRequestError(f"keep = {text!r}: expected e.g. 90d, 12w, 18m, 10y or forever",
                                  field="keep")
    return timedelta(days=int(number) * _UNITS[unit])


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"{text!r}: not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise InvalidRequestError(f"{text!r}: give a time zone (e.g. +00:00)")
    return value


@app.command()
def refresh(config: ConfigOption = None,
            up_to: str = typer.Option(None, "--up-to", help="ISO date-time (default: now)."),
            since: str = typer.Option(None, "--since",
                                      help="TimescaleDB only: start of the window.")) -> None:
    """Refresh the hourly, daily and monthly rollups."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        done = refresh_rollups(conn, up_to=_when(up_to), since=_when(since))
        kind = storage_kind(conn)
    for r in done:
        written = "" if r.buckets is None else f": {r.buckets} buckets written"
        typer.echo(f"{r.rollup} refreshed to {r.refreshed_to.isoformat()} ({kind}){written}")


@app.command()
def status(config: ConfigOption = None) -> None:
    """Storage path, rollup watermarks and retention settings."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        typer.echo(f"storage: {storage_kind(conn)}")
        for name, refreshed_to, refreshed_at in rollup_state(conn):
            when = refreshed_at.isoformat() if refreshed_at else "never"
            if refreshed_to is None:
                typer.echo(f"{name}: never refreshed")
            else:
                typer.echo(f"{name}: refreshed to {refreshed_to.isoformat()} (at {when})")
        for relation, keep in retention_settings(conn).items():
            typer.echo(f"retention {relation}: {'forever' if keep is None else keep}")


@app.command()
def validate(config: ConfigOption = None,
             start: str = typer.Option(..., "--from", help="ISO date-time with zone."),
             end: str = typer.Option(..., "--to", help="ISO date-time with zone (exclusive)."),
             serial: str = typer.Option(None, "--meter", help="One meter (default: all).")
             ) -> None:
    """Validate readings in a period and store the flags (negative, stuck, spike, gap, …)."""
    settings = settings_from(config)
    lo, hi = _when(start), _when(end)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        meters = conn.execute("SELECT id, serial FROM meters WHERE %s::text IS NULL"
                              " OR serial = %s ORDER BY serial", (serial, serial)).fetchall()
        if serial is not None and not meters:
            raise InvalidRequestError(f"meter {serial!r} not found", field="meter")
        total = 0
        for meter_id, meter_serial in meters:
            registers = conn.execute(
                "SELECT DISTINCT register FROM readings WHERE meter_id = %s"
                " AND read_at >= %s AND read_at < %s ORDER BY 1", (meter_id, lo, hi)).fetchall()
            for (register,) in registers:
                for flag in validate_meter(conn, meter_id, register, lo, hi):
                    typer.echo(f"{meter_serial} {register} {flag.kind} "
                               f"{flag.start.isoformat()} .. {flag.end.isoformat()}: {flag.reason}")
                    total += 1
    typer.echo(f"{total} flags stored")


@retention_app.command("set")
def retention_set(relation: str, keep: str, config: ConfigOption = None) -> None:
    """Keep RELATION (readings, readings_hourly, _daily, _monthly) for KEEP (e.g. 10y, forever)."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        set_retention(conn, relation, parse_keep(keep))
    typer.echo(f"retention {relation}: {keep}")


@retention_app.command("apply")
def retention_apply(config: ConfigOption = None,
                    at: str = typer.Option(None, "--at", help="ISO date-time (default: now).")
                    ) -> None:
    """Remove what is older than each relation's retention."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        results = apply_retention(conn, _when(at))
    for r in results:
        typer.echo(f"{r.relation}: before {r.cutoff.isoformat()} — "
                   f"{r.partitions_dropped} partitions dropped, {r.rows_deleted} rows deleted")
    if not results:
        typer.echo("nothing has a retention limit")
