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
    """The secret that signs access tokens (``METERBILL_API__TOKEN``, at least 32
    characters), or a fresh random one (and True: tokens die with this process)."""
    if configured is not None:
        return configured, False
    return SecretStr(secrets.token_urlsafe(32)), True


def demo_admin_key(dsn: str, hours: int = 24) -> str:
    """A fresh installation-wide API key holding every action, for trying the API.
    Shown once; it expires after ``hours`` and can be revoked with meterbill apikey."""
    from datetime import UTC, datetime, timedelta

    import psycopg

    from api.auth import api_keys
    from api.permissions import GRANTS

    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        created = api_keys.create(conn, name="demo admin", actions=[a for a in GRANTS
                                                                     if a != "self"],
                                  expires_at=datetime.now(UTC) + timedelta(hours=hours))
    return created.key


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
            print("access tokens are signed with a random secret for this run "
                  "(set METERBILL_API__TOKEN to keep them valid across restarts)",
                  file=sys.stderr)
        print("credentials: log in at POST /auth/login, or create an API key with "
              "'meterbill apikey create'", file=sys.stderr)
        uvicorn.run(create_app(db.dsn, token), host=host or settings.api.host,
                    port=port or settings.api.port, log_level="info")
