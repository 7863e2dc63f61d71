"""Settings of the ``meterbill`` command: one TOML file plus ``METERBILL_*`` environment overrides.

Environment variables win over the file (``METERBILL_DSN``, ``METERBILL_API__PORT`` …;
nested keys use ``__``).  Everything is validated at start, then frozen; a wrong
or missing value stops the program with one line naming the key and where it
came from (file and line, or the environment variable), never a traceback.

Example ``meterbill.toml``::

    dsn = "postgresql://meterbill@db.example/meterbill"   # else the embedded server
    [api]
    host = "127.0.0.1"
    port = 8000
    [demo]
    units = 6
    interval_minutes = 60
    tariff_minor_per_kwh = "32.15"
"""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "METERBILL_"
M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration value is wrong or missing; the message is one line for the user."""


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    # Bearer token for staff access until user accounts exist; generated when unset.
    token: SecretStr | None = None


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    units: int = Field(6, ge=1, le=500)
    interval_minutes: int = Field(60, ge=1, le=1440)
    # Price of one kWh in minor units (cents); a Decimal so 32.15 stays 32.15.
    tariff_minor_per_kwh: Decimal = Field(Decimal("32.15"), ge=0)
    # The billing month, YYYY-MM; default: the last full month before today.
    period: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    seed: int = 7


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    dsn: SecretStr | None = None
    data_dir: Path | None = None
    api: ApiSettings = ApiSettings()
    demo: DemoSettings = DemoSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first (it overrides the file), then the TOML file passed as init data.
        return (env_settings, init_settings)


def _toml_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best-effort line number of ``loc`` (section path + key) in the TOML text."""
    keys = [str(part) for part in loc if not isinstance(part, int)]
    if not keys:
        return None
    *sections, key = keys
    section = ".".join(sections)
    current = ""
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
            continue
        if current == section and key_re.match(line):
            return number
    return None


def _env_name(loc: tuple[str | int, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc)


def _describe(error: dict[str, Any], path: Path | None, text: str) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    given = error.get("input")
    message = str(error["msg"])
    env = _env_name(loc)
    if env in os.environ:
        source = f"environment {env}"
        shown = "<hidden>" if "dsn" in key or "token" in key else repr(os.environ[env])
        return f"{key} = {shown}: {message} ({source})"
    if path is not None:
        line = _toml_line(text, loc)
        source = f"{path}:{line}" if line else str(path)
    else:
        source = "defaults"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key ({source})"
    if error["type"] == "missing":
        return f"{key}: required but missing ({source})"
    shown = "<hidden>" if "dsn" in key or "token" in key else repr(given)
    return f"{key} = {shown}: {message} ({source})"


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from exc


def _config_error(exc: ValidationError, path: Path | None, text: str) -> ConfigError:
    return ConfigError("; ".join(_describe(err, path, text) for err in exc.errors()))


def load_settings(path: Path | None = None) -> Settings:
    """Read ``path`` (or ``$METERBILL_CONFIG``, or nothing) and the environment; validate all."""
    if path is None and os.environ.get(f"{ENV_PREFIX}CONFIG"):
        path = Path(os.environ[f"{ENV_PREFIX}CONFIG"])
    text, data = _read_toml(path) if path is not None else ("", {})
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise _config_error(exc, path, text) from None


def load_toml_model(path: Path, model: type[M]) -> M:
    """Validate a TOML file against ``model`` (e.g. the gateway's settings), errors as above."""
    text, data = _read_toml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, path, text) from None
