"""``meterbill gateway run --config gateway.toml``."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from firmware_bridge.errors import BridgeError
from gateway.config import GatewaySettings
from gateway.runtime import build_bus, run_gateway
from meterbill.cli_support import clear_errors, fail, settings_from
from meterbill.config import load_toml_model

app = typer.Typer(no_args_is_help=True, help="Edge gateway runtime.")


@app.command()
def run(config: Annotated[Path, typer.Option("--config", "-c", help="gateway.toml")],
        check: bool = typer.Option(False, "--check", help="Validate the config and exit.")) -> None:
    """Poll the configured buses on their intervals and write readings upstream."""
    with clear_errors():
        gateway = load_toml_model(config, GatewaySettings)
        for bus in gateway.buses:  # load profiles and plan reads before any bus opens
            try:
                build_bus(bus)[0].close()
            except BridgeError as exc:
                raise fail(f"{config}: bus {bus.name}: {exc}") from None
    if check:
        typer.echo(f"{config}: OK ({len(gateway.buses)} buses)")
        return
    dsn = gateway.uplink.dsn.get_secret_value() if gateway.uplink.dsn else None
    if dsn is None:
        server = settings_from(None)
        if server.dsn is None:
            raise fail(f"{config}: uplink.dsn is not set and METERBILL_DSN is empty")
        dsn = server.dsn.get_secret_value()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        stats = await run_gateway(gateway, dsn, stop)
        typer.echo(f"gateway stopped: {stats.cycles} cycles, {stats.readings_written} readings, "
                   f"{stats.failed_reads} failed reads, {stats.missed_cycles} missed cycles")

    with clear_errors():
        asyncio.run(main())
