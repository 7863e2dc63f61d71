"""``meterbill profiles list|show NAME``: the Modbus device profiles we ship.

``show`` prints the register map together with the reads the planner would
issue, so an installer can compare both with the manufacturer's table (cited
on the same screen) before wiring a meter in.
"""

from __future__ import annotations

import typer

from firmware_bridge.errors import ProfileError
from firmware_bridge.modbus_profile import FUNCTION_CODES, list_profiles, load_profile
from firmware_bridge.modbus_request_plan import plan_reads

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Modbus device profiles (one TOML file per meter model).")


@app.command("list")
def list_command() -> None:
    """List every shipped profile: name, manufacturer, model and source document."""
    rows = [("NAME", "MANUFACTURER", "MODEL", "REGS", "SOURCE")]
    for name in list_profiles():
        try:
            profile = load_profile(name)
        except ProfileError as exc:
            rows.append((name, "-", "-", "-", f"INVALID: {exc}"))
            continue
        rows.append((name, profile.manufacturer, profile.model, str(len(profile.registers)),
                     profile.source.citation()))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
                   + "  " + row[4])


@app.command("show")
def show_command(name: str = typer.Argument(..., help="Profile name (see `list`) or a .toml path.")
                 ) -> None:
    """Show a profile's source, registers and planned reads."""
    try:
        profile = load_profile(name)
    except ProfileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{profile.manufacturer} {profile.model}  ({profile.path.name})")
    if profile.description:
        typer.echo(profile.description)
    typer.echo(f"source: {profile.source.citation()}")
    if profile.source.url:
        typer.echo(f"        {profile.source.url}")
    typer.echo(f"limits: {profile.max_registers_per_request} registers per read, "
               f"gaps up to {profile.max_gap_registers} registers")
    typer.echo("")
    header = ("NAME", "FC", "ADDRESS", "TYPE", "ORDER", "SCALE", "UNIT", "QUANTITY")
    rows = [header]
    for reg in profile.registers:
        rows.append((reg.name, str(reg.function_code), f"0x{reg.address:04X} ({reg.address})",
                     reg.data_type, reg.order.name if reg.count > 1 else "-", str(reg.scale),
                     reg.unit, reg.quantity))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    typer.echo("")
    blocks = plan_reads(profile)
    typer.echo(f"reads per poll: {len(blocks)}")
    for block in blocks:
        kind = FUNCTION_CODES[block.function_code]
        typer.echo(f"  {block.describe()}  {kind} registers: {', '.join(block.names)}")
    typer.echo(f"embedded test cases: {len(profile.tests)}")
