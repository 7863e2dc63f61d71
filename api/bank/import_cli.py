"""``meterbill bank import FILE``: parse a bank file and import it into the database.

Merged into ``meterbill bank`` beside ``parse``.  Exit status 0 with a summary
(``--json`` for the machine-readable report); 1 with one line naming the file and
the line or element at fault when the file is malformed or the import is refused
(nothing is imported then).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from api.bank.csv_mapping import CsvMapping
from api.bank.errors import StatementError
from api.bank.importer import import_file
from api.ledger.database_option import DsnOption, database

app = typer.Typer(help="Import bank statements into the database.")


@app.callback()
def _bank() -> None:
    """Bank statement files."""


@app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="Bank files to import, in order.")],
    dsn: DsnOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    mapping: Annotated[Path | None, typer.Option(
        "--mapping", help="TOML CSV mapping for bank CSV exports of other banks.")] = None,
) -> None:
    """Import FILES (each atomically; a repeated file or overlap adds nothing)."""
    reports = []
    try:
        csv_mapping = CsvMapping.from_toml(mapping) if mapping else None
        with database(dsn) as resolved, psycopg.connect(resolved, autocommit=True) as conn:
            for file in files:
                reports.append(import_file(conn, file, mapping=csv_mapping))
    except StatementError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
        return
    for report in reports:
        typer.echo(f"{report.file}: {report.format}, {report.entries_added} new entries")
        for s in report.statements:
            typer.echo(f"  statement {s.statement_id or '-'} {s.account}: {s.status}, "
                       f"{s.entries_added} added, {s.entries_known} already known")
            for warning in s.warnings:
                typer.echo(f"    warning: {warning}")
