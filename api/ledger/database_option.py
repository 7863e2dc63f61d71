"""The ``--dsn`` option shared by the ledger, bank import and reconcile commands.

``api`` may not import the composition root (``meterbill``), so these commands
resolve the database themselves, the same way: ``--dsn`` or ``METERBILL_DSN``,
else the embedded PostgreSQL in the default data directory (started on demand
and migrated, so a first ``meterbill bank import`` works on a fresh machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from api.db.embedded import EmbeddedPostgres
from api.db.migrate import migrate

DsnOption = Annotated[
    str | None,
    typer.Option("--dsn", envvar="METERBILL_DSN", show_envvar=True,
                 help="PostgreSQL DSN (default: the embedded server)."),
]


@contextmanager
def database(dsn: str | None) -> Iterator[str]:
    """A migrated database DSN; stops the embedded server afterwards if it was started."""
    if dsn:
        migrate(dsn)
        yield dsn
        return
    embedded = EmbeddedPostgres()
    try:
        resolved = embedded.ensure_database()
        migrate(resolved)
        yield resolved
    finally:
        embedded.stop()
