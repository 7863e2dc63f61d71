"""The ``meterbill`` command line.

Each package owns its subcommands as a typer app in its own module; this root
mounts them, skipping a module that does not exist yet, so a half-built
feature cannot break the others.
"""

from __future__ import annotations

import importlib
import sys

import typer

from meterbill.cli_support import ConfigOption, clear_errors, settings_from

app = typer.Typer(
    name="meterbill",
    help="Meter readings in a building become correct, explainable bills.",
    no_args_is_help=True,
    add_completion=False,
)

@app.callback()
def _root() -> None:
    """Meter readings in a building become correct, explainable bills."""
    # A callback keeps ``meterbill`` a command group even when only one command is
    # mounted (typer would otherwise collapse a one-command app into that command).


# (subcommand, module, attribute, help)
SUBCOMMANDS: list[tuple[str, str, str, str]] = [
    ("db", "meterbill.db_cli", "app", "Database: migrate, info."),
    ("gateway", "meterbill.gateway_cli", "app", "Edge gateway runtime."),
    ("api", "meterbill.api_cli", "app", "HTTP API server."),
    ("simulate", "simulators.cli", "app", "Run simulated meters and buildings."),
    ("mbus", "firmware_bridge.mbus_cli", "app", "Wired M-Bus: decode, scan, read."),
    ("profiles", "firmware_bridge.profiles_cli", "app", "Modbus device profiles."),
    ("modbus", "firmware_bridge.modbus_cli", "app", "Read a Modbus device with a profile."),
    ("bank", "api.bank.cli", "app", "Bank statements: parse and import."),
    ("ledger", "api.ledger.cli", "app", "Ledger: verify the hash chain."),
    ("reconcile", "api.reconciliation.cli", "app", "Match bank entries to invoices."),
    ("dunning", "api.dunning.cli", "app", "Reminders, default interest, direct debits."),
    ("apikey", "meterbill.apikey_cli", "app", "API keys for gateways and integrations."),
    ("store", "meterbill.store_cli", "app", "Readings store: rollups, retention, validation."),
    ("ingest", "meterbill.ingest_cli", "app", "Server ingest workers (MQTT shared subscription)."),
    ("tickets", "meterbill.tickets_cli", "app", "Tickets: the periodic SLA escalation check."),
]
# (command, module, function): single commands at the top level
COMMANDS: list[tuple[str, str, str]] = [
    ("apportion", "billing_core.apportion_cli", "apportion"),
]


def _import(module_name: str) -> object | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise


def _mount(only: str | None = None) -> None:
    """Mount the subcommands; ``only`` imports just the one being run (fast start-up)."""
    for name, module_name, attr, help_text in SUBCOMMANDS:
        if only not in (None, name):
            continue
        module = _import(module_name)
        if module is not None:
            app.add_typer(getattr(module, attr), name=name, help=help_text)
    for name, module_name, attr in COMMANDS:
        if only not in (None, name):
            continue
        module = _import(module_name)
        if module is not None:
            app.command(name)(getattr(module, attr))


@app.command()
def demo(
    config: ConfigOption = None,
    once: bool = typer.Option(False, "--once", help="Stop after printing the bills."),
    as_json: bool = typer.Option(False, "--json", help="Print the bills as JSON."),
) -> None:
    """Simulate a building's month of meter readings, bill it, serve the API."""
    from meterbill import demo as demo_module
    from meterbill.api_cli import api_token, demo_admin_key
    from meterbill.database import DatabaseHandle

    settings = settings_from(config)
    with clear_errors(), DatabaseHandle(settings) as db:
        if not as_json:
            print(f"database: {db.description}", file=sys.stderr)
        run = demo_module.run_demo(settings, db.dsn, quiet=as_json)
        demo_module.report(run, as_json)
        if once:
            return
        import uvicorn

        from api.app import create_app

        token, _ = api_token(settings.api.token)
        key = demo_admin_key(db.dsn)
        print(f"\nAPI on http://{settings.api.host}:{settings.api.port}/docs — "
              f"admin API key (shown once, valid 24 h): {key}\n"
              f"try: curl -H 'Authorization: Bearer {key}' "
              f"'http://{settings.api.host}:{settings.api.port}/buildings/"
              f"{run.building.building_id}/bills?period={run.period.label}'\n"
              "Ctrl-C stops.", file=sys.stderr)
        uvicorn.run(create_app(db.dsn, token), host=settings.api.host,
                    port=settings.api.port, log_level="warning")


def main() -> None:
    known = {entry[0] for entry in SUBCOMMANDS} | {entry[0] for entry in COMMANDS} | {"demo"}
    first = sys.argv[1] if len(sys.argv) > 1 else None
    _mount(first if first in known else None)
    app()
