"""The gateway's settings (``gateway.toml``): buses, their devices, the uplink.

Example::

    [uplink]
    dsn = "postgresql://gateway@db.example/meterbill"   # or METERBILL_GATEWAY__UPLINK__DSN

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

Validated in full at start (profiles loaded, register names checked) before
any bus opens; see ``meterbill.config`` for how errors name file, line and key.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


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

    dsn: SecretStr | None = None
    batch_size: int = Field(5000, ge=1)


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uplink: UplinkSettings = UplinkSettings()
    buses: tuple[BusSettings, ...] = Field(min_length=1)
