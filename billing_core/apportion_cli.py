"""``meterbill apportion BUILDING.json``: one-off apportionment of a building file.

The input format is ``docs/apportion-input.schema.json`` (see
``billing_core.apportion_input``).  ``--format json`` prints the full result
(items, bills with explained lines, landlord's shares); ``table`` a summary;
``html`` one page per bill; ``pdf`` writes all bills to ``--output``.
A wrong file exits with status 2 and one line per error naming its JSON path.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from billing_core.apportion_input import ApportionInputError, load_apportion_input
from billing_core.bill_render import bill_html, bills_pdf, result_json, result_table
from billing_core.building_apportionment import apportion_building
from billing_core.errors import BillingError


class OutputFormat(StrEnum):
    """Output formats of ``meterbill apportion``."""

    json = "json"
    table = "table"
    html = "html"
    pdf = "pdf"


def apportion(
    path: Annotated[Path, typer.Argument(help="Building file (JSON, see the input schema).")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = (
        OutputFormat.json),
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write here (required for pdf).")] = None,
) -> None:
    """Apportion a building's costs for one period and print or write the bills."""
    try:
        data = load_apportion_input(path)
        result = apportion_building(data)
    except ApportionInputError as exc:
        for err in exc.errors:
            typer.echo(f"{exc.source}: {err}", err=True)
        raise typer.Exit(code=2) from None
    except (BillingError, OSError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if format is OutputFormat.pdf:
        if output is None:
            typer.echo("--output is required for --format pdf", err=True)
            raise typer.Exit(code=2)
        output.write_bytes(bills_pdf(result.bills))
        return
    if format is OutputFormat.json:
        text = result_json(result)
    elif format is OutputFormat.table:
        text = result_table(result)
    else:
        text = "\n".join(bill_html(b) for b in result.bills)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")


# Mountable as ``("apportion", "billing_core.apportion_cli", "app", ...)`` in the
# root's SUBCOMMANDS: the command is the group's callback, so the call is
# ``meterbill apportion FILE`` (interspersed args let options follow the path).
app = typer.Typer(help="Apportion building costs.", add_completion=False)
app.callback(invoke_without_command=True,
             context_settings={"allow_interspersed_args": True})(apportion)
