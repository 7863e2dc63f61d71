"""``meterbill apikey create|list|revoke``: keys for gateways and integrations.

The key is printed once, at creation; only its SHA-256 is kept.  Scope a key
as narrowly as it is used: a gateway gets ``readings:write`` for its building.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from api.auth import api_keys
from api.db.migrate import migrate
from meterbill.cli_support import ConfigOption, clear_errors, settings_from
from meterbill.database import DatabaseHandle

app = typer.Typer(no_args_is_help=True, help="API keys: create, list, revoke.")


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="What uses the key, e.g. 'gateway building 3'.")],
    action: Annotated[list[str], typer.Option(
        "--action", "-a", help="Allowed action (repeat), e.g. readings:write.")],
    property_id: int | None = typer.Option(None, "--property", help="Scope: a property id."),
    building_id: int | None = typer.Option(None, "--building", help="Scope: a building id."),
    unit_id: int | None = typer.Option(None, "--unit", help="Scope: a unit id."),
    days: int = typer.Option(90, min=1, max=3650, help="Valid for this many days."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: ConfigOption = None,
) -> None:
    """Create a key; it is shown this once and cannot be recovered."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        migrate(db.dsn)
        with psycopg.connect(db.dsn, autocommit=True) as conn, conn.transaction():
            created = api_keys.create(
                conn, name=name, actions=list(action), property_id=property_id,
                building_id=building_id, unit_id=unit_id,
                expires_at=datetime.now(UTC) + timedelta(days=days))
    if as_json:
        typer.echo(json.dumps({"id": created.id, "key": created.key, "prefix": created.prefix,
                               "expires_at": created.expires_at.isoformat()}))
        return
    typer.echo(f"API key {created.id} (expires {created.expires_at:%Y-%m-%d}); "
               "store it now, it is not shown again:")
    typer.echo(created.key)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
          config: ConfigOption = None) -> None:
    """Every key with its scope, expiry and state (never the secret)."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        migrate(db.dsn)
        with psycopg.connect(db.dsn, autocommit=True) as conn:
            rows = api_keys.list_keys(conn)
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    table = Table(title="API keys")
    for column in ("id", "prefix", "name", "actions", "scope", "expires", "state"):
        table.add_column(column)
    now = datetime.now(UTC)
    for r in rows:
        scope = next((f"{k.removesuffix('_id')} {r[k]}" for k in
                      ("property_id", "building_id", "unit_id") if r[k] is not None), "all")
        state = ("revoked" if r["revoked_at"] else
                 "expired" if r["expires_at"] <= now else "active")  # type: ignore[operator]
        table.add_row(str(r["id"]), str(r["prefix"]), str(r["name"]),
                      ", ".join(r["actions"]), scope,  # type: ignore[arg-type]
                      f"{r['expires_at']:%Y-%m-%d}", state)
    Console().print(table)


@app.command()
def revoke(key_id: int = typer.Argument(..., help="The key's id (see list)."),
           config: ConfigOption = None) -> None:
    """Revoke a key at once; requests with it answer 401 from now on."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        migrate(db.dsn)
        with psycopg.connect(db.dsn, autocommit=True) as conn, conn.transaction():
            api_keys.revoke(conn, key_id)
    typer.echo(f"API key {key_id} revoked")
