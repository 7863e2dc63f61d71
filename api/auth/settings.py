"""How the server authenticates: one frozen settings object, checked at start.

The signing secret comes from the environment or a file (``METERBILL_API__TOKEN``
through ``meterbill.config``) and is a ``SecretStr``: it never reaches a log.
RFC 7518 §3.2 asks for an HMAC key at least as long as the hash (256 bits for
HS256), hence the 32-character minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import SecretStr

MIN_SECRET_CHARS = 32
STAFF_ROLES = frozenset({"admin", "property_manager", "accountant"})


@dataclass(frozen=True, slots=True)
class PasswordHashParams:
    """Argon2id cost (RFC 9106 §4 second recommended option: 64 MiB, t=3, p=4)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 4


@dataclass(frozen=True, slots=True)
class AuthSettings:
    signing_secret: SecretStr
    audience: str = "meterbill-api"
    issuer: str = "meterbill"
    access_ttl: timedelta = timedelta(minutes=15)
    refresh_ttl: timedelta = timedelta(days=30)
    # Lockout: after this many consecutive failures the account waits lockout_for.
    lockout_after_failures: int = 5
    lockout_for: timedelta = timedelta(minutes=15)
    # Login attempts per window, per source address and per e-mail address.
    login_attempts_per_window: int = 10
    login_window: timedelta = timedelta(minutes=1)
    # Expensive endpoints (bills): requests per window per caller and per address.
    expensive_per_window: int = 60
    expensive_window: timedelta = timedelta(minutes=1)
    require_totp_for_staff: bool = True
    invitation_ttl: timedelta = timedelta(days=7)
    public_base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    mail_from: str = "meterbill <no-reply@localhost>"
    max_body_bytes: int = 1_048_576
    password_hash: PasswordHashParams = field(default_factory=PasswordHashParams)

    def __post_init__(self) -> None:
        if len(self.signing_secret.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"the API signing secret must be at least {MIN_SECRET_CHARS} characters "
                "(RFC 7518 §3.2: an HS256 key has at least 256 bits)")
