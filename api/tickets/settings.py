"""Settings of the ticket module (env prefix ``METERBILL_TICKETS__``).

The link secret signs provider links and reply addresses.  It is a
``SecretStr`` (never printed or logged); when unset a random one is made per
process, so links from a previous run (or another worker process) stop
working — set it in production.
A secret shorter than 32 characters is refused at start, as the template
refuses a placeholder secret.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TicketSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERBILL_TICKETS__", frozen=True)

    # Attachments live here, never under a folder a web server serves.
    data_dir: Path = Field(default_factory=lambda: user_data_path("meterbill") / "ticket-data")
    link_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(48)))
    link_ttl_hours: int = Field(default=14 * 24, gt=0)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "tickets@meterbill.invalid"
    mail_domain: str = "meterbill.invalid"
    public_base_url: str = "http://localhost:8000"
    max_image_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    max_document_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_image_pixels: int = Field(default=40_000_000, gt=0)

    @field_validator("link_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("METERBILL_TICKETS__LINK_SECRET must be at least 32 characters")
        return value
