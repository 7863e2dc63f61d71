"""The gateway's settings (``gateway.toml``): identity, buses, uplink, buffer, observability.

Example::

    name = "lindenstrasse-12"       # stamped on every batch (ReadingBatch.gateway_id)
    api_key = "…"                   # reserved for the identity issue: validated, not sent yet

    [uplink]
    kind = "postgres"               # "postgres": COPY + idempotent insert, directly
    dsn = "postgresql://gateway@db.example/meterbill"
    batch_size = 5000               # readings per delivered batch
    timeout_seconds = 30            # one delivery; longer counts as failed
    backoff_initial_seconds = 1     # reconnects wait 0..initial·2ⁿ (full jitter),
    backoff_max_seconds = 300       # at most this long
    drain_seconds = 30              # on SIGTERM, deliver what is buffered for at most this

    # or, through the server's ingest workers (``meterbill ingest run``):
    # kind = "mqtt"                 # batches published with QoS 1, acked per batch
    # [uplink.mqtt]
    # host = "mqtt.example"; port = 8883; tls = true; prefix = "prod"
    # username = "lindenstrasse-12" # password: METERBILL_MQTT_PASSWORD (or password = "…")
    # ack_timeout_seconds = 10

    [buffer]
    path = "/var/lib/meterbill/gateway-buffer.sqlite3"
    max_readings = 5_000_000        # when full: the oldest are dropped and counted
    max_age_days = 400              # older readings are dropped and counted

    [metrics]
    port = 9108                     # Prometheus /metrics; omit to disable
    host = "127.0.0.1"

    [status]
    path = "/run/meterbill/gateway-status.json"   # read by `meterbill gateway status`

    [[buses]]
    name = "house-12"
    kind = "modbus_tcp"
    host = "192.0.2.10"
    port = 502
    interval_seconds = 900          # polls at :00, :15, :30, :45

    [[buses.devices]]
    serial = "SDM-007-001"          # the meter's serial as the server knows it
    device_id = 1
    profile = "sdm630"
    registers = ["energy_import_kwh", "power_w"]

    [simulated_clock]               # tests and demos only: time runs `speed` times faster
    start = 2026-03-01T00:00:00Z
    speed = 600
    anchor_unix_s = 1790000000.0    # real instant of `start`; a restart continues the timeline

Validated in full at start (profiles loaded, register names checked) before
any bus opens; see ``meterbill.config`` for how errors name file, line and key.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from gateway.mqtt_connection import MqttSettings, check_topic_level


class DeviceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = Field(min_length=1)
    device_id: int = Field(ge=0, le=247)
    profile: str = Field(min_length=1)
    registers: tuple[str, ...] = Field(min_length=1)


class BusSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: str = Field(pattern="^modbus_tcp$")
    host: str = Field(min_length=1)
    port: int = Field(502, ge=1, le=65535)
    interval_seconds: int = Field(900, ge=1, le=86400)
    timeout_seconds: float = Field(3.0, gt=0, le=60)
    devices: tuple[DeviceSettings, ...] = Field(min_length=1)

    @field_validator("interval_seconds")
    @classmethod
    def _divides_a_day(cls, value: int) -> int:
        if 86400 % value:
            raise ValueError("must divide a day evenly so polls align to the clock")
        return value


class UplinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Field order matters: each validator sees the fields declared above it, and its
    # error then names its own key (and line), e.g. ``uplink.kind``.
    dsn: SecretStr | None = None  # kind = "postgres"
    mqtt: MqttSettings | None = None  # kind = "mqtt": [uplink.mqtt]
    kind: Literal["postgres", "mqtt"] = Field("postgres", validate_default=True)
    batch_size: int = Field(5000, ge=1, le=1_000_000)
    timeout_seconds: float = Field(30.0, gt=0, le=3600)
    backoff_initial_seconds: float = Field(1.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(300.0, gt=0, le=86400)
    drain_seconds: float = Field(30.0, ge=0, le=3600)  # on SIGTERM: deliver for at most this

    @field_validator("kind")
    @classmethod
    def _kind_matches_its_section(cls, value: str, info: ValidationInfo) -> str:
        mqtt, dsn = info.data.get("mqtt"), info.data.get("dsn")
        if value == "mqtt" and mqtt is None:
            raise ValueError('kind = "mqtt" needs an [uplink.mqtt] section (host, port, prefix)')
        if value == "mqtt" and dsn is not None:
            raise ValueError('dsn is for kind = "postgres"; the MQTT uplink has no database')
        if value == "postgres" and mqtt is not None:
            raise ValueError('[uplink.mqtt] is set but kind is "postgres"; set kind = "mqtt"')
        return value

    @field_validator("backoff_max_seconds")
    @classmethod
    def _backoff_ordered(cls, value: float, info: ValidationInfo) -> float:
        if value < info.data.get("backoff_initial_seconds", 0):
            raise ValueError("must be >= backoff_initial_seconds")
        return value


class BufferSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("gateway-buffer.sqlite3")
    max_readings: int = Field(5_000_000, ge=1)
    max_age_days: float = Field(400, gt=0)


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=0, le=65535)  # 0: any free port (written to the status)


class StatusSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = None  # default: beside the buffer, "<buffer>.status.json"
    interval_seconds: float = Field(1.0, gt=0, le=3600)


class SimulatedClockSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    speed: float = Field(gt=0, le=1_000_000)
    anchor_unix_s: float | None = None

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-03-01T00:00:00Z")
        return value


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uplink: UplinkSettings = UplinkSettings()
    name: str = Field("gateway", min_length=1, max_length=200)
    api_key: SecretStr | None = None
    buffer: BufferSettings = BufferSettings()
    metrics: MetricsSettings = MetricsSettings()
    status: StatusSettings = StatusSettings()
    simulated_clock: SimulatedClockSettings | None = None
    buses: tuple[BusSettings, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name_fits_the_uplink(cls, value: str, info: ValidationInfo) -> str:
        uplink = info.data.get("uplink")
        if uplink is not None and uplink.kind == "mqtt":
            check_topic_level(value, "the gateway name")  # one level of the MQTT topics
        return value

    def status_path(self) -> Path:
        if self.status.path is not None:
            return self.status.path
        return self.buffer.path.with_name(self.buffer.path.name + ".status.json")
