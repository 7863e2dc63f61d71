"""``meterbill dunning run --as-of DATE``: issue the dunning notices due on a date."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import psycopg
import typer

from api.dunning.service import run_dunning
from api.ledger.database_option import DsnOption, database

app = typer.Typer(help="Dunning: reminders, notices, fees and default interest.")


@app.callback()
def _dunning() -> None:
    """Dunning and collection."""


@app.command("run")
def run_command(
    dsn: DsnOption = None,
    as_of: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                   help="Reference date (default today).")
                     ] = None,
) -> None:
    """Issue the next due dunning level for every overdue open invoice (prints JSON)."""
    day = as_of.date() if as_of else date.today()
    with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
        notices = run_dunning(conn, day)
    typer.echo(json.dumps([{
        "invoice": n.number, "level": n.level, "name": n.level_name, "pay_by": str(n.pay_by),
        "open_minor": n.open_minor, "fee_minor": n.fee_minor,
        "interest_minor": n.interest_minor, "basis": n.interest_basis} for n in notices],
        ensure_ascii=False, indent=2))
