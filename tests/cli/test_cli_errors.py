"""The command line: wrong settings stop with one line naming the key, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MB = [sys.executable, "-m", "meterbill"]


def run(args: list[str], env_extra: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERBILL_")}
    env.update(env_extra or {})
    return subprocess.run(MB + args, capture_output=True, text=True, env=env, timeout=timeout)


def test_bad_config_value_names_key_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "meterbill.toml"
    config.write_text('dsn = "postgresql://127.0.0.1/none"\n\n[api]\nport = 70000\n')
    result = run(["db", "info", "--config", str(config)])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"meterbill: ConfigError: api.port = 70000: Input should be less than or equal to 65535 "
        f"({config}:4)"
    ]
    assert "Traceback" not in result.stderr


def test_unknown_key_and_env_override_are_named(tmp_path: Path) -> None:
    config = tmp_path / "meterbill.toml"
    config.write_text("[demo]\nunits = 6\nunit = 7\n")
    result = run(["demo", "--once", "--config", str(config)])
    assert result.returncode == 2
    assert f"demo.unit: unknown key ({config}:3)" in result.stderr
    env_result = run(["db", "info"], {"METERBILL_API__PORT": "eighty"})
    assert env_result.returncode == 2
    assert "api.port = 'eighty'" in env_result.stderr
    assert "(environment METERBILL_API__PORT)" in env_result.stderr


def test_gateway_config_errors_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        "[[buses]]\nname = 'b'\nkind = 'modbus_tcp'\nhost = '127.0.0.1'\n"
        "interval_seconds = 7\n"
        "[[buses.devices]]\nserial = 'S1'\ndevice_id = 1\nprofile = 'sdm630'\n"
        "registers = ['energy_import_kwh']\n"
    )
    result = run(["gateway", "run", "--check", "--config", str(config)])
    assert result.returncode == 2
    assert "buses.0.interval_seconds = 7: Value error, must divide a day evenly" in result.stderr
    config.write_text(config.read_text().replace("interval_seconds = 7", "interval_seconds = 900")
                      .replace("'energy_import_kwh'", "'no_such_register'"))
    result = run(["gateway", "run", "--check", "--config", str(config)])
    assert result.returncode == 2
    assert "bus b:" in result.stderr and "no_such_register" in result.stderr
    config.write_text(config.read_text().replace("'no_such_register'", "'energy_import_kwh'"))
    ok = run(["gateway", "run", "--check", "--config", str(config)])
    assert ok.returncode == 0, ok.stderr
    assert "OK (1 buses)" in ok.stdout
