"""``meterbill modbus read``: read one device once with its profile.

    meterbill modbus read --profile sdm630 --host 10.0.0.7 --port 502 --unit 1
    meterbill modbus read --profile em24 --serial /dev/ttyUSB0 --baud 9600 --unit 3 --json

The command plans the reads exactly as the gateway does (fewest requests the
device allows), issues them with pymodbus's synchronous client, and prints the
decoded values. Values are printed and serialized as decimal strings, never
floats, so what is shown is what would be billed.

Exit codes: 0 on success, 1 when the device or the link failed (the message
names the endpoint and the read), 2 on bad usage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import typer
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from firmware_bridge.errors import BridgeError, FrameError, TransportError
from firmware_bridge.modbus_profile import DeviceProfile, load_profile
from firmware_bridge.modbus_request_plan import ReadBlock, decode_blocks, plan_reads

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Read Modbus devices using a device profile.")



@app.callback()
def _group() -> None:
    """Read Modbus devices using a device profile."""
    # A callback keeps `read` a subcommand even while it is the only one.


# Modbus over Serial Line V1.02, 2.5.1: "The default parity mode must be even parity."
_PARITIES = ("E", "N", "O")


def read_blocks(client: ModbusTcpClient | ModbusSerialClient, blocks: Sequence[ReadBlock],
                unit: int, endpoint: str) -> list[list[int]]:
    """Issue one read per block; errors name the endpoint and the block."""
    answers = []
    for block in blocks:
        try:
            if block.function_code == 3:
                response = client.read_holding_registers(block.address, count=block.count,
                                                         device_id=unit)
            else:
                response = client.read_input_registers(block.address, count=block.count,
                                                       device_id=unit)
        except ModbusException as exc:
            raise TransportError(f"{endpoint} unit {unit}: {block.describe()}: {exc}") from exc
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise FrameError("Modbus", f"{endpoint} unit {unit} answered exception {code} "
                             f"to {block.describe()}", field=block.describe())
        answers.append(list(response.registers))
    return answers


def read_device(profile: DeviceProfile, client: ModbusTcpClient | ModbusSerialClient,
                unit: int, endpoint: str, names: Sequence[str] | None = None
                ) -> dict[str, Decimal]:
    """Connect, read every planned block once, decode. Closes the client."""
    blocks = plan_reads(profile, names or None)
    try:
        if not client.connect():
            raise TransportError(f"{endpoint}: cannot connect")
        answers = read_blocks(client, blocks, unit, endpoint)
    finally:
        client.close()
    return decode_blocks(profile, blocks, answers)


def _plain(value: Decimal) -> str:
    return format(value, "f")


@app.command("read")
def read_command(
    profile_name: str = typer.Option(..., "--profile", help="Profile name or .toml path."),
    host: str | None = typer.Option(None, "--host", help="Modbus TCP host."),
    port: int = typer.Option(502, "--port", help="Modbus TCP port."),
    serial: str | None = typer.Option(None, "--serial", help="Serial device, e.g. /dev/ttyUSB0."),
    baud: int = typer.Option(9600, "--baud", help="Serial baud rate."),
    parity: str = typer.Option("E", "--parity", help="Serial parity: E, N or O."),
    stopbits: int = typer.Option(1, "--stopbits", help="Serial stop bits: 1 or 2."),
    unit: int = typer.Option(..., "--unit", min=0, max=247, help="Modbus unit (device) id."),
    timeout_s: float = typer.Option(3.0, "--timeout", help="Seconds to wait per request."),
    register: list[str] = typer.Option(  # noqa: B008 - typer declares options this way
        [], "--register", help="Only these registers (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Read one device once and print its values."""
    if (host is None) == (serial is None):
        raise typer.BadParameter("give exactly one of --host or --serial")
    if parity.upper() not in _PARITIES:
        raise typer.BadParameter(f"--parity {parity}: expected E, N or O")
    if stopbits not in (1, 2):
        raise typer.BadParameter(f"--stopbits {stopbits}: expected 1 or 2")
    try:
        profile = load_profile(profile_name)
        if host is not None:
            endpoint = f"tcp://{host}:{port}"
            client: ModbusTcpClient | ModbusSerialClient = ModbusTcpClient(
                host, port=port, timeout=timeout_s, retries=0)
        else:
            endpoint = f"serial://{serial}@{baud}{parity.upper()}{stopbits}"
            client = ModbusSerialClient(serial, baudrate=baud, parity=parity.upper(),
                                        stopbits=stopbits, bytesize=8, timeout=timeout_s,
                                        retries=0)
        values = read_device(profile, client, unit, endpoint, register)
    except BridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        document = {
            "profile": profile.key,
            "manufacturer": profile.manufacturer,
            "model": profile.model,
            "endpoint": endpoint,
            "unit": unit,
            "values": {name: {"value": _plain(value), "unit": profile.register(name).unit}
                       for name, value in values.items()},
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{profile.manufacturer} {profile.model} at {endpoint} unit {unit}")
    width = max(len(name) for name in values)
    for name, value in values.items():
        typer.echo(f"  {name.ljust(width)}  {_plain(value)} {profile.register(name).unit}")
