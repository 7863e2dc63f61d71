"""Native JSON form of decoded M-Bus telegrams (``meterbill mbus decode``).

Exact values stay exact: a Decimal is written as a JSON string
(``"37351000"``, ``"0.543"``), never as a float; dates are ISO 8601;
raw bytes are uppercase hex.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from firmware_bridge.codecs.mbus_records import Telegram


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex().upper()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def telegram_to_dict(telegram: Telegram) -> dict[str, Any]:
    """A JSON-ready dict: ``type`` names the telegram kind, the rest its fields."""
    body = _plain(telegram)
    return {"type": type(telegram).__name__, **body}


__all__ = ["telegram_to_dict"]
