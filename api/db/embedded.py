"""The default database for a user with none: an embedded PostgreSQL from PyPI.

``pgserver`` ships PostgreSQL binaries in its wheel and starts a server on a
Unix socket inside a data folder (under the user's data directory), reused on
the next run.  The server is stopped when the process that started it exits.
``METERBILL_DSN`` bypasses all of this.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import quote

import platformdirs
import psycopg

from api.errors import DatabaseSetupError

DEFAULT_DATABASE = "meterbill"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("meterbill")) / "postgres"


class EmbeddedPostgres:
    """A running embedded server; ``dsn(database)`` gives a libpq URI to one of its databases."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or default_data_dir()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # platformdirs' runtime-dir fallback notice
                import pgserver
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise DatabaseSetupError(
                "embedded PostgreSQL needs the 'pgserver' package; install it or set METERBILL_DSN"
            ) from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR
                # platformdirs warns and falls back to /tmp, which is what we want.
                warnings.simplefilter("ignore")
                self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:
            raise DatabaseSetupError(
                f"embedded PostgreSQL did not start in {self.data_dir}: {exc}"
            ) from exc
        self.socket_dir = str(self._server.get_uri().split("host=", 1)[1])

    def dsn(self, database: str = DEFAULT_DATABASE) -> str:
        return f"postgresql://postgres@/{quote(database)}?host={quote(self.socket_dir)}"

    def ensure_database(self, database: str = DEFAULT_DATABASE) -> str:
        """Create ``database`` if missing and return its DSN."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
        return self.dsn(database)

    def stop(self) -> None:
        self._server.cleanup()
