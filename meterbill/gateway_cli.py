"""``meterbill gateway run --config gateway.toml`` and ``meterbill gateway status``.

``run`` validates the whole file (profiles loaded, reads planned) before any
bus opens.  Signals: SIGHUP re-reads the file and applies it without losing
buffered readings (an invalid file is reported and the old settings stay);
SIGTERM and SIGINT stop polling after the current cycle, drain the buffer
upstream and exit 0.  ``status`` prints what the running (or last) gateway
wrote to its status file.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from firmware_bridge.errors import BridgeError
from gateway.config import GatewaySettings
from gateway.metrics import format_status, read_status
from gateway.mqtt_connection import MqttSettings
from gateway.mqtt_uplink import MqttUplink
from gateway.postgres_uplink import PostgresUplink
from gateway.runtime import Gateway, build_bus
from gateway.uplink import Uplink
from meterbill.cli_support import clear_errors, fail, settings_from
from meterbill.config import ConfigError, load_toml_model

app = typer.Typer(no_args_is_help=True, help="Edge gateway runtime.")
log = logging.getLogger("meterbill.gateway")

ConfigPath = Annotated[Path, typer.Option("--config", "-c", help="gateway.toml")]


def _relative_to(config: Path, path: Path) -> Path:
    return path if path.is_absolute() else config.parent / path


def load_gateway_config(config: Path) -> GatewaySettings:
    """Validate ``config`` in full (raises ConfigError naming file, line and key)."""
    gateway = load_toml_model(config, GatewaySettings)
    for bus in gateway.buses:  # load profiles and plan reads before any bus opens
        try:
            build_bus(bus)[0].close()
        except BridgeError as exc:
            raise ConfigError(f"{config}: bus {bus.name}: {exc}") from None
    # Relative paths are relative to the config file, not to wherever the service starts.
    buffer = gateway.buffer.model_copy(update={"path": _relative_to(config, gateway.buffer.path)})
    status = gateway.status
    if status.path is not None:
        status = status.model_copy(update={"path": _relative_to(config, status.path)})
    return gateway.model_copy(update={"buffer": buffer, "status": status})


def _uplink_dsn(config: Path, gateway: GatewaySettings) -> str:
    if gateway.uplink.dsn is not None:
        return gateway.uplink.dsn.get_secret_value()
    server = settings_from(None)
    if server.dsn is None:
        raise ConfigError(f"{config}: uplink.dsn is not set and METERBILL_DSN is empty")
    return server.dsn.get_secret_value()


def _mqtt_settings(gateway: GatewaySettings) -> MqttSettings:
    mqtt = gateway.uplink.mqtt
    assert mqtt is not None  # the config's validator requires it for kind = "mqtt"
    password = os.environ.get("METERBILL_MQTT_PASSWORD")
    if mqtt.password is None and password:
        mqtt = mqtt.model_copy(update={"password": SecretStr(password)})
    return mqtt


def make_uplink_factory(config: Path) -> Callable[[GatewaySettings], Uplink]:
    def make(gateway: GatewaySettings) -> Uplink:
        if gateway.uplink.kind == "mqtt":
            return MqttUplink(_mqtt_settings(gateway), gateway_id=gateway.name)
        return PostgresUplink(_uplink_dsn(config, gateway), gateway_id=gateway.name,
                              timeout_s=gateway.uplink.timeout_seconds)
    return make


@app.command()
def run(config: ConfigPath,
        check: bool = typer.Option(False, "--check", help="Validate the config and exit.")) -> None:
    """Poll the configured buses on their intervals; buffer, then deliver readings upstream."""
    with clear_errors():
        gateway = load_gateway_config(config)
    if check:  # the uplink's secret may come from the service's environment only
        typer.echo(f"{config}: OK ({len(gateway.buses)} buses)")
        return
    with clear_errors():
        if gateway.uplink.kind == "postgres":
            _uplink_dsn(config, gateway)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def reload_settings() -> GatewaySettings | None:
        try:
            new = load_gateway_config(config)
            if new.uplink.kind == "postgres":
                _uplink_dsn(config, new)
            return new
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            return None

    async def main() -> int:
        stop, reload = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, reload.set)
        runtime = Gateway(gateway, make_uplink_factory(config))
        await runtime.serve(stop, reload, reload_settings)
        m = runtime.metrics  # final: the last status write summed the pollers' counts
        typer.echo(f"gateway stopped: {m.cycles} cycles, {m.readings_buffered} readings buffered, "
                   f"{m.readings_acknowledged} acknowledged, {m.missed_cycles} missed cycles")
        return 1 if runtime.fatal is not None else 0

    with clear_errors():
        code = asyncio.run(main())
    if code:
        raise typer.Exit(code)


@app.command()
def status(config: ConfigPath) -> None:
    """Print what the gateway of ``config`` last reported (counters, buffer, uplink)."""
    with clear_errors():
        gateway = load_gateway_config(config)
        path = gateway.status_path()
        try:
            snap = read_status(path)
        except FileNotFoundError:
            raise fail(f"{path}: no status file; is the gateway running?") from None
    typer.echo(format_status(snap))
