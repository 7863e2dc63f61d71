"""``meterbill reconcile run|review|anomalies|confirm``: matching from the command line."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import psycopg
import typer

from api.errors import ApiError
from api.ledger.database_option import DsnOption, database
from api.reconciliation import service
from api.reconciliation.matcher import MatchSettings

app = typer.Typer(help="Match bank entries to invoices; review queue and anomalies.")


@app.callback()
def _reconcile() -> None:
    """Bank reconciliation."""


@app.command("run")
def run_command(
    dsn: DsnOption = None,
    threshold: Annotated[float, typer.Option(help="Auto-book at or above this confidence.")
                         ] = 0.90,
    tolerance_minor: Annotated[int, typer.Option(
        help="Settle an invoice when paid and open differ by at most this (minor units).")] = 0,
    ledger: Annotated[str, typer.Option(help="Ledger code to book into.")] = "main",
) -> None:
    """Match every bank entry without an accepted match; book the sure ones."""
    settings = MatchSettings(auto_threshold=threshold, tolerance_minor=tolerance_minor,
                             as_of=date.today())
    with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
        summary = service.run_reconciliation(conn, settings, ledger)
    typer.echo(f"{summary.payments} entries: {summary.auto} booked, {summary.suggested} for "
               f"review, {summary.unmatched} unmatched, {summary.anomalies} anomalies")


@app.command("review")
def review_command(dsn: DsnOption = None) -> None:
    """Print the review queue as JSON."""
    with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
        typer.echo(json.dumps(service.review_queue(conn), default=str, ensure_ascii=False,
                              indent=2))


@app.command("anomalies")
def anomalies_command(dsn: DsnOption = None) -> None:
    """Print the anomalies of the latest run as JSON."""
    with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
        typer.echo(json.dumps(service.anomalies(conn), ensure_ascii=False, indent=2))


@app.command("confirm")
def confirm_command(entry_id: int, dsn: DsnOption = None,
                    by: Annotated[str, typer.Option(help="Who decides.")] = "cli") -> None:
    """Accept the suggestion for bank entry ENTRY_ID."""
    try:
        with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
            ids = service.confirm(conn, entry_id, by)
    except ApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"confirmed: match rows {ids}")
