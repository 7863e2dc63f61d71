"""``meterbill tickets escalate``: the SLA escalation check, for cron or a systemd timer."""

from __future__ import annotations

from typing import Annotated

import psycopg
import typer

from api.tickets.escalation_job import run_escalations
from api.tickets.settings import TicketSettings
from meterbill.cli_support import ConfigOption, clear_errors, settings_from
from meterbill.database import DatabaseHandle

app = typer.Typer(no_args_is_help=True, help="Tickets: the periodic SLA escalation check.")


@app.callback()
def _tickets() -> None:
    """Tickets."""


@app.command()
def escalate(
    config: ConfigOption = None,
    property_id: Annotated[int | None, typer.Option(help="Only this property.")] = None,
) -> None:
    """Escalate breached SLAs (once per ticket and kind) and mail the managers."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db, \
            psycopg.connect(db.dsn, autocommit=True) as conn:
        run = run_escalations(conn, TicketSettings(), property_id=property_id)
    typer.echo(f"{run.escalated} escalated, {run.mails_sent} mails sent, "
               f"{run.mails_failed} failed (kept for retry)")
    if run.mails_failed:
        raise typer.Exit(1)
