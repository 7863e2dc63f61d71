"""``meterbill mbus``: decode M-Bus telegrams; scan and read a live bus.

``decode`` takes hex strings or files of hex text (the format of libmbus's
test frames: two-digit hex bytes separated by any whitespace) and prints our
native JSON (one line per telegram) or libmbus-compatible normalised XML.
A telegram that cannot be decoded prints one line naming the input, byte
offset and problem on stderr; the other inputs are still decoded and the
exit code is 1.

``scan`` and ``read`` come from :mod:`firmware_bridge.mbus_bus_cli`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from firmware_bridge.codecs import mbus
from firmware_bridge.codecs.mbus_json import telegram_to_dict
from firmware_bridge.codecs.mbus_link import find_link_frame
from firmware_bridge.codecs.mbus_xml import to_libmbus_xml
from firmware_bridge.errors import BridgeError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Wired M-Bus: decode telegrams, scan and read a bus.")


class OutputFormat(StrEnum):
    json = "json"
    xml = "xml"


class InputError(ValueError):
    """An input is neither a hex string nor a readable file of hex text."""


def read_input(text_or_path: str) -> bytes:
    """Bytes of one INPUT: a file of hex text if the path exists, else hex."""
    path = Path(text_or_path)
    try:
        is_file = path.is_file()
    except OSError:
        is_file = False
    if is_file:
        try:
            text = path.read_text(encoding="ascii", errors="strict")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read as hex text: {exc}") from exc
    else:
        text = text_or_path
    compact = "".join(text.split())
    for pos, ch in enumerate(compact):
        if ch not in "0123456789abcdefABCDEF":
            raise InputError(f"not hex: character {ch!r} at position {pos}")
    tokens = text.split()
    if len(tokens) > 1 and any(len(t) % 2 for t in tokens):
        bad = next(t for t in tokens if len(t) % 2)
        raise InputError(f"not hex bytes: token {bad!r} has an odd number of digits")
    if len(compact) % 2:
        raise InputError("odd number of hex digits")
    return bytes.fromhex(compact)


def split_frames(buf: bytes) -> list[bytes]:
    """Split concatenated frames (a multi-telegram capture) into frames.

    Anything that is not a sequence of whole, valid frames is returned as
    one buffer, so the strict decoder reports the offset that is wrong.
    """
    frames = []
    pos = 0
    while pos < len(buf):
        frame, used = find_link_frame(buf[pos:])
        if frame is None:
            return [buf]
        frames.append(buf[pos:pos + used])
        pos += used
    return frames or [buf]


@app.command()
def decode(
    inputs: Annotated[list[str], typer.Argument(
        metavar="INPUT...", help="Hex string or file of hex text (several allowed).")],
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="json (native, exact values) or xml (libmbus normalised).",
    )] = OutputFormat.json,
) -> None:
    """Decode RSP_UD telegrams (EN 13757-2/-3) from hex."""
    failed = 0
    for item in inputs:
        label = item if len(item) <= 60 or Path(item).is_file() else item[:57] + "..."
        try:
            frames = split_frames(read_input(item))
        except InputError as exc:
            typer.echo(f"{label}: {exc}", err=True)
            failed += 1
            continue
        for k, frame in enumerate(frames):
            where = label if len(frames) == 1 else f"{label} [frame {k}]"
            try:
                telegram = mbus.decode_frame(frame)
            except BridgeError as exc:
                typer.echo(f"{where}: {exc}", err=True)
                failed += 1
                continue
            if output_format is OutputFormat.xml:
                sys.stdout.write(to_libmbus_xml(telegram))
            else:
                doc = {"input": where, **telegram_to_dict(telegram)}
                sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    if failed:
        raise typer.Exit(code=1)


def _mount_bus_commands() -> None:
    """Add ``scan``/``read`` from the bus CLI (a separate module, same group)."""
    try:
        from firmware_bridge import mbus_bus_cli
    except ModuleNotFoundError as exc:  # pragma: no cover - module ships with us
        if exc.name and exc.name.startswith("firmware_bridge"):
            return
        raise
    app.registered_commands.extend(mbus_bus_cli.app.registered_commands)


_mount_bus_commands()

__all__ = ["app", "decode", "read_input", "split_frames"]
