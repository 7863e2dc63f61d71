"""``meterbill bank parse FILE [--json]``: print normalized statements without importing.

A malformed file prints one line naming the file and the line/element at fault
and exits with status 1, so a script (or a person) knows where to look; the
JSON shape is documented in :mod:`api.bank.statement`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.bank.csv_mapping import CsvMapping
from api.bank.detect import parse_file
from api.bank.errors import StatementError
from api.bank.statement import ParseResult, format_minor

app = typer.Typer(help="Bank statements: parse (and import) camt, MT940, WeChat, Alipay, CSV.")


@app.callback()
def _bank() -> None:
    """Bank statement files."""


def _summary(result: ParseResult) -> str:
    lines = [f"format: {result.format}"]
    for statement in result.statements:
        account = statement.account_iban or statement.account_other_id or "-"
        currency = statement.currency or ""
        opening = (
            format_minor(statement.opening_balance_minor, currency)
            if statement.opening_balance_minor is not None
            else "-"
        )
        closing = (
            format_minor(statement.closing_balance_minor, currency)
            if statement.closing_balance_minor is not None
            else "-"
        )
        lines.append(
            f"statement {statement.id or '-'}  account {account}  {currency}  "
            f"opening {opening}  closing {closing}  entries {len(statement.entries)}"
        )
        for warning in statement.warnings:
            lines.append(f"  warning: {warning}")
        for entry in statement.entries:
            amount = format_minor(entry.amount_minor or 0, entry.currency or currency)
            sign = {"CRDT": "+", "DBIT": "-"}.get(entry.credit_debit or "", " ")
            lines.append(
                f"  {entry.booking_date or '-':10}  {sign}{amount:>14} {entry.currency or ''}  "
                f"{(entry.counterparty_name or '')[:30]:30}  {(entry.remittance or '')[:50]}"
            )
    return "\n".join(lines)


@app.command("parse")
def parse_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Bank file to parse.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the normalized JSON.")] = False,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="TOML CSV mapping for bank CSV exports of other banks."),
    ] = None,
    max_bytes: Annotated[
        int | None, typer.Option("--max-bytes", help="Refuse files larger than this.")
    ] = None,
) -> None:
    """Parse FILE (format detected from its content) and print its statements."""
    try:
        csv_mapping = CsvMapping.from_toml(mapping) if mapping else None
        result = parse_file(file, mapping=csv_mapping, max_bytes=max_bytes)
    except StatementError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(_summary(result))


def _mount_import() -> None:
    """``bank import`` lives with the importer (it needs the database); mounted here."""
    from api.bank.import_cli import import_command

    app.command("import")(import_command)


_mount_import()
