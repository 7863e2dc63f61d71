"""``meterbill api serve``."""

from __future__ import annotations

import secrets
import sys

import typer
import uvicorn
from pydantic import SecretStr

from api.app import create_app
from api.db.migrate import migrate
from meterbill.cli_support import ConfigOption, clear_errors, settings_from
from meterbill.database import DatabaseHandle

app = typer.Typer(no_args_is_help=True, help="HTTP API server.")


def api_token(configured: SecretStr | None) -> tuple[SecretStr, bool]:
    """The configured token, or a fresh random one (and True: it must be shown once)."""
    if configured is not None:
        return configured, False
    return SecretStr(secrets.token_urlsafe(24)), True


@app.command()
def serve(config: ConfigOption = None,
          host: str | None = typer.Option(None, help="Bind address (default from settings)."),
          port: int | None = typer.Option(None, help="Port (default from settings).")) -> None:
    """Migrate the database, then serve the API (OpenAPI docs at /docs)."""
    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        migrate(db.dsn)
        token, generated = api_token(settings.api.token)
        if generated:
            print(f"staff API token for this run: {token.get_secret_value()}", file=sys.stderr)
        uvicorn.run(create_app(db.dsn, token), host=host or settings.api.host,
                    port=port or settings.api.port, log_level="info")
