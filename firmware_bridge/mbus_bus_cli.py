"""``meterbill mbus scan`` and ``meterbill mbus read``: talk to a real M-Bus line.

The line is a serial port (``--port /dev/ttyUSB0``, 8E1 at ``--baud``,
default 2400) or a transparent serial-to-Ethernet converter
(``--tcp host:port``; ``--baud`` is then the bus speed behind it, which sets
the answer timeout). ``scan`` runs the secondary wildcard search (or, with
``--primary``, SND_NKE on addresses ``--first``..``--last``, default
0..250) and prints one line per slave; ``read`` reads one slave by
``--address`` (primary) or ``--secondary`` (16-character address from
``scan``), follows multi-telegram answers, and prints the frames in hex or,
with ``--json``, decoded.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from firmware_bridge.codecs.mbus_link import LongFrame, encode_long_frame
from firmware_bridge.errors import BridgeError
from firmware_bridge.transports.mbus_master import (
    WILDCARD_MASK,
    ByteStream,
    MBusMaster,
    Probe,
    SecondaryAddress,
)
from firmware_bridge.transports.serial_port import DEFAULT_BAUD_RATE, SerialPort
from firmware_bridge.transports.tcp_stream import TcpStream

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Wired M-Bus line: scan for slaves, read them.")

PortOption = Annotated[str | None, typer.Option("--port", help="Serial device, e.g. /dev/ttyUSB0.")]
TcpOption = Annotated[str | None, typer.Option("--tcp", help="host:port of a M-Bus/TCP box.")]
BaudOption = Annotated[int, typer.Option("--baud", help="Bus speed: 300..38400 baud.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", help="Answer timeout in seconds (default: from the baud rate)."),
]
RetryOption = Annotated[int, typer.Option("--retries", help="Retries after no/garbled answer.")]


def _open(port: str | None, tcp: str | None, baud: int, timeout_s: float | None) -> ByteStream:
    if (port is None) == (tcp is None):
        raise typer.BadParameter("give exactly one of --port or --tcp")
    if port is not None:
        return SerialPort(port, baud, response_timeout_s=timeout_s)
    assert tcp is not None
    host, sep, port_text = tcp.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise typer.BadParameter(f"--tcp {tcp!r}: expected host:port", param_hint="--tcp")
    return TcpStream(host, int(port_text), bus_baudrate=baud, response_timeout_s=timeout_s)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=1)


@app.command()
def scan(
    port: PortOption = None,
    tcp: TcpOption = None,
    baud: BaudOption = DEFAULT_BAUD_RATE,
    primary: Annotated[
        bool, typer.Option("--primary", help="Scan primary addresses 0..250 instead.")
    ] = False,
    first: Annotated[int, typer.Option("--first", help="First primary address.")] = 0,
    last: Annotated[int, typer.Option("--last", help="Last primary address.")] = 250,
    mask: Annotated[
        str, typer.Option("--mask", help="Secondary mask to search under (F = wildcard).")
    ] = WILDCARD_MASK,
    timeout: TimeoutOption = None,
    retries: RetryOption = 1,
) -> None:
    """Find the slaves on the line (secondary wildcard search by default)."""
    try:
        stream = _open(port, tcp, baud, timeout)
    except (BridgeError, ValueError) as exc:
        raise _fail(exc) from exc
    try:
        master = MBusMaster(stream, max_search_retry=retries)
        if primary:
            if not 0 <= first <= last <= 250:
                raise ValueError(f"--first {first} --last {last}: need 0 <= first <= last <= 250")
            for address, outcome in master.scan_primary(range(first, last + 1)):
                if outcome is Probe.SINGLE:
                    typer.echo(f"primary {address}")
                else:
                    typer.echo(f"collision at primary {address} (several slaves)", err=True)
            return
        result = master.scan_secondary(
            mask,
            on_found=lambda a: typer.echo(
                f"secondary {a} id={a.id_digits} manufacturer={a.manufacturer_code} "
                f"version={a.version} medium=0x{a.medium:02X}"
            ),
        )
        for unresolved in result.unresolved:
            typer.echo(f"collision {unresolved} (several slaves share this ID)", err=True)
    except (BridgeError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        stream.close()


@app.command()
def read(
    port: PortOption = None,
    tcp: TcpOption = None,
    baud: BaudOption = DEFAULT_BAUD_RATE,
    address: Annotated[
        int | None, typer.Option("--address", help="Primary address 1..250 (0, 254 allowed).")
    ] = None,
    secondary: Annotated[
        str | None, typer.Option("--secondary", help="16-character secondary address.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Decode and print JSON.")] = False,
    timeout: TimeoutOption = None,
    retries: RetryOption = 3,
) -> None:
    """Read every telegram of one slave (REQ_UD2, following DIF 1Fh)."""
    if (address is None) == (secondary is None):
        raise typer.BadParameter("give exactly one of --address or --secondary")
    try:
        target = SecondaryAddress.parse(secondary) if secondary is not None else None
        stream = _open(port, tcp, baud, timeout)
    except (BridgeError, ValueError) as exc:
        raise _fail(exc) from exc
    try:
        master = MBusMaster(stream, max_data_retry=retries)
        if target is not None:
            frames = master.read_secondary(target)
        else:
            assert address is not None
            frames = master.read(address)
        if not as_json:
            for frame in frames:
                typer.echo(frame_hex(frame))
            return
        from firmware_bridge.codecs.mbus import decode_user_data
        from firmware_bridge.codecs.mbus_json import telegram_to_dict

        # the same JSON as `meterbill mbus decode`, one entry per telegram
        telegrams = [telegram_to_dict(decode_user_data(f.c, f.a, f.ci, f.data)) for f in frames]
        typer.echo(json.dumps({"telegrams": telegrams}, indent=2))
    except (BridgeError, ValueError) as exc:
        raise _fail(exc) from exc
    finally:
        stream.close()


def frame_hex(frame: LongFrame) -> str:
    """The wire bytes of a received long frame, as libmbus prints them."""
    return encode_long_frame(frame.c, frame.a, frame.ci, frame.data).hex(" ").upper()


__all__ = ["app", "frame_hex"]
