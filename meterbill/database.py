"""Which database a command talks to: ``METERBILL_DSN`` / ``dsn`` in the config, else embedded."""

from __future__ import annotations

from pathlib import Path

from api.db.embedded import EmbeddedPostgres, default_data_dir
from meterbill.config import Settings


class DatabaseHandle:
    """The DSN to use; owns the embedded server (stopped on ``close``) when one was started."""

    def __init__(self, settings: Settings) -> None:
        self.embedded: EmbeddedPostgres | None = None
        if settings.dsn is not None:
            self.dsn = settings.dsn.get_secret_value()
            self.description = "METERBILL_DSN / config dsn"
        else:
            data_dir = (settings.data_dir / "postgres") if settings.data_dir else default_data_dir()
            self.embedded = EmbeddedPostgres(Path(data_dir))
            self.dsn = self.embedded.ensure_database()
            self.description = f"embedded PostgreSQL in {data_dir}"

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def __enter__(self) -> DatabaseHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
