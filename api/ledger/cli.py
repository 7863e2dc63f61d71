"""``meterbill ledger verify``: recompute every ledger's hash chain from the rows.

Exit status 0 when every link holds; 1 with the first broken link (ledger, seq,
transaction id and why) otherwise, so a cron job can alert on it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import psycopg
import typer

from api.ledger.database_option import DsnOption, database
from api.ledger.service import verify_chain

app = typer.Typer(help="Ledger: verify the hash chain.")


@app.callback()
def _ledger() -> None:
    """The append-only ledger."""


@app.command("verify")
def verify_command(
    dsn: DsnOption = None,
    ledger_id: Annotated[int | None, typer.Option("--ledger", help="Only this ledger id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Recompute the chain; report the first broken link."""
    with database(dsn) as resolved, psycopg.connect(resolved) as conn:
        report = verify_chain(conn, ledger_id)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report), default=str))
    elif report.ok:
        typer.echo(f"ok: {report.transactions_checked} transactions in "
                   f"{report.ledgers_checked} ledger(s), every link holds")
    else:
        broken = report.first_broken or {}
        typer.echo(f"BROKEN: ledger {broken.get('ledger_id')} seq {broken.get('seq')} "
                   f"(transaction {broken.get('transaction_id')}): {broken.get('reason')}")
    if not report.ok:
        raise typer.Exit(code=1)
