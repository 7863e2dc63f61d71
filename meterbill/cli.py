"""The ``meterbill`` command line.

Each package owns its subcommands as a typer app in its own module; this root
mounts them lazily so ``meterbill --help`` stays fast and a package that is
not yet installed (an optional fast path, say) cannot break the others.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="meterbill",
    help="Meter readings in a building become correct, explainable bills.",
    no_args_is_help=True,
    add_completion=False,
)

# (subcommand, module, attribute, help). Modules are imported when the CLI starts;
# a missing module is skipped so half-built features do not break the others.
SUBCOMMANDS: list[tuple[str, str, str, str]] = [
    ("db", "meterbill.db_cli", "app", "Database: migrate, info."),
    ("gateway", "meterbill.gateway_cli", "app", "Edge gateway runtime."),
    ("api", "meterbill.api_cli", "app", "HTTP API server."),
    ("simulate", "simulators.cli", "app", "Run simulated meters and buildings."),
    ("mbus", "firmware_bridge.mbus_cli", "app", "Wired M-Bus: decode, scan, read."),
    ("profiles", "firmware_bridge.profiles_cli", "app", "Modbus device profiles."),
    ("modbus", "firmware_bridge.modbus_cli", "app", "Read a Modbus device with a profile."),
    ("bank", "api.bank.cli", "app", "Bank statements: import and parse."),
]


def _mount() -> None:
    for name, module_name, attr, help_text in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        app.add_typer(getattr(module, attr), name=name, help=help_text)


def main() -> None:
    _mount()
    app()
