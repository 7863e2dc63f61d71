"""Shared bits of the CLI: loading settings and turning known errors into one clear line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from api.errors import ApiError
from billing_core.errors import BillingError
from firmware_bridge.errors import BridgeError
from gateway.errors import GatewayError
from meterbill.config import ConfigError, Settings, load_settings

T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="TOML settings file (default: $METERBILL_CONFIG).",
                 exists=False, dir_okay=False),
]

KNOWN_ERRORS = (ConfigError, ApiError, BillingError, BridgeError, GatewayError)


def fail(message: str, code: int = 2) -> typer.Exit:
    print(f"meterbill: {message}", file=sys.stderr)
    return typer.Exit(code)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Known errors end the command with one line on stderr, not a traceback."""
    try:
        yield
    except KNOWN_ERRORS as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from None


def settings_from(config: Path | None) -> Settings:
    with clear_errors():
        return load_settings(config)


def run_clean(fn: Callable[[], T]) -> T:
    with clear_errors():
        return fn()
