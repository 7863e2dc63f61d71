"""gateway.toml: every section validated at start; errors name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterbill.config import ConfigError
from meterbill.gateway_cli import load_gateway_config

BUS = ("[[buses]]\nname = 'b'\nkind = 'modbus_tcp'\nhost = '127.0.0.1'\n"
       "[[buses.devices]]\nserial = 'S1'\ndevice_id = 1\nprofile = 'sdm630'\n"
       "registers = ['energy_import_kwh']\n")


def load(tmp_path: Path, head: str) -> object:
    config = tmp_path / "gateway.toml"
    config.write_text(head + BUS)
    return load_gateway_config(config)


def error(tmp_path: Path, head: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, head)
    return str(caught.value)


def test_defaults_and_relative_paths_resolve_beside_the_config(tmp_path: Path) -> None:
    settings = load(tmp_path, "[buffer]\npath = 'state/buf.sqlite3'\n")
    assert settings.buffer.path == tmp_path / "state" / "buf.sqlite3"  # type: ignore[attr-defined]
    assert settings.status_path() == tmp_path / "state" / "buf.sqlite3.status.json"  # type: ignore[attr-defined]
    assert settings.uplink.kind == "postgres"  # type: ignore[attr-defined]


def test_mqtt_uplink_needs_its_section_and_the_error_names_the_line(tmp_path: Path) -> None:
    message = error(tmp_path, "name = 'gw'\n[uplink]\nkind = 'mqtt'\n")
    assert "uplink.kind = 'mqtt'" in message and "needs an [uplink.mqtt] section" in message
    assert f"({tmp_path / 'gateway.toml'}:3)" in message


def test_mqtt_uplink_settings_are_checked_and_the_name_must_be_a_topic_level(
        tmp_path: Path) -> None:
    ok = load(tmp_path, "name = 'gw-1'\n[uplink]\nkind = 'mqtt'\n[uplink.mqtt]\nport = 1884\n")
    assert ok.uplink.mqtt.port == 1884  # type: ignore[attr-defined]
    message = error(tmp_path, "name = 'gw/1'\n[uplink]\nkind = 'mqtt'\n[uplink.mqtt]\n")
    assert "name = 'gw/1'" in message and f"{tmp_path / 'gateway.toml'}:1" in message
    message = error(tmp_path, "[uplink]\nkind = 'mqtt'\n[uplink.mqtt]\nport = 0\n")
    assert "uplink.mqtt.port = 0" in message and ":4)" in message


def test_buffer_and_backoff_bounds_name_their_keys(tmp_path: Path) -> None:
    message = error(tmp_path, "[buffer]\nmax_readings = 0\n")
    assert "buffer.max_readings = 0" in message and ":2)" in message
    message = error(tmp_path, "[uplink]\nbackoff_initial_seconds = 5\nbackoff_max_seconds = 1\n")
    assert "uplink.backoff_max_seconds = 1" in message and "must be >= backoff_initial" in message


def test_simulated_clock_needs_an_aware_start(tmp_path: Path) -> None:
    message = error(tmp_path, "[simulated_clock]\nstart = 2026-03-01T00:00:00\nspeed = 60\n")
    assert "simulated_clock.start" in message and "needs a UTC offset" in message
    assert ":2)" in message
