"""``meterbill db migrate|info``."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from api.db.info import database_info
from api.db.migrate import migrate as apply_migrations
from meterbill.cli_support import ConfigOption, clear_errors, settings_from
from meterbill.database import DatabaseHandle

app = typer.Typer(no_args_is_help=True, help="Database: migrate, info.")


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        applied = apply_migrations(db.dsn)
    if applied:
        for m in applied:
            typer.echo(f"applied {m.version:04d}_{m.name}")
    else:
        typer.echo("database is up to date")


@app.command()
def info(config: ConfigOption = None,
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Server version, storage (TimescaleDB or native partitions), migration level, row counts."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        result = database_info(db.dsn)
        where = db.description
    if as_json:
        typer.echo(json.dumps({
            "database": where, "server_version": result.server_version,
            "timescaledb_available": result.timescaledb_available, "storage": result.storage,
            "migration_level": result.migration_level,
            "migrations_pending": result.migrations_pending, "row_counts": result.row_counts,
        }, indent=2))
        return
    table = Table(title="meterbill database", show_header=False)
    table.add_row("database", where)
    table.add_row("server", f"PostgreSQL {result.server_version}")
    table.add_row("TimescaleDB available", "yes" if result.timescaledb_available else "no")
    table.add_row("readings storage", {"timescaledb": "TimescaleDB hypertable",
                                       "native": "native monthly partitions"}.get(
                                           result.storage or "", "not migrated"))
    table.add_row("migration level", f"{result.migration_level} "
                  f"({result.migrations_pending} pending)")
    for name, count in result.row_counts.items():
        table.add_row(f"rows in {name}", str(count))
    Console().print(table)
