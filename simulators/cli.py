"""``meterbill simulate building``: serve a simulated building's meters over Modbus TCP."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from simulators.building import demo_building
from simulators.modbus_electricity_meter import ModbusMeterServer
from simulators.sim_clock import WallClock

app = typer.Typer(no_args_is_help=True, help="Run simulated meters and buildings.")


@app.command()
def building(
    port: int = typer.Option(5020, help="TCP port (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    units: int = typer.Option(6, min=1, max=99, help="Number of apartments."),
    seed: int = typer.Option(7, help="Seed for areas and loads."),
) -> None:
    """Serve the demo building's SDM630-like meters on the wall clock until Ctrl-C."""
    sim = demo_building(units=units, seed=seed)

    async def serve() -> None:
        async with ModbusMeterServer(sim.meter_models(), WallClock(), host, port) as server:
            typer.echo(f"Modbus TCP on {host}:{server.port}")
            for unit in sim.units:
                typer.echo(f"  device {unit.device_id:3d}  {unit.meter_serial}  {unit.code}")
            typer.echo(f"  device {sim.main_device_id:3d}  {sim.main_meter_serial}  main meter")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


@app.command()
def mbus(
    vectors: Annotated[list[Path] | None,
                       typer.Argument(help="libmbus .hex telegrams, one slave each.")] = None,
    tcp: int | None = typer.Option(None, help="Serve on this TCP port (0 = any); else a pty."),
    demo: int = typer.Option(0, help="Add N encoder-built water meters."),
) -> None:
    """Serve a wired M-Bus of simulated slaves on a pseudo-terminal or TCP until Ctrl-C."""
    from simulators.mbus_bus import main as mbus_main

    argv = [str(v) for v in vectors or []] + ["--demo", str(demo)]
    if tcp is not None:
        argv += ["--tcp", str(tcp)]
    raise typer.Exit(mbus_main(argv))
