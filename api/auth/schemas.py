"""Request and response models of the auth routes; inputs forbid unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL: refuse it here as a 422, not a 500 later.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class LoginRequest(_Input):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(None, max_length=16)
    recovery_code: str | None = Field(None, max_length=32)


class RefreshRequest(_Input):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPublic(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    totp_enrollment_required: bool


class LogoutPublic(BaseModel):
    revoked_sessions: int


class AssignmentPublic(BaseModel):
    role: str
    level: str
    property_id: int | None
    building_id: int | None
    unit_id: int | None
    valid_from: date
    valid_to: date | None


class MePublic(BaseModel):
    kind: str
    id: int
    label: str
    mfa: bool
    assignments: list[AssignmentPublic]


class TotpEnrollPublic(BaseModel):
    secret: str
    otpauth_uri: str


class TotpConfirmRequest(_Input):
    code: str = Field(min_length=6, max_length=16)


class RecoveryCodesPublic(BaseModel):
    recovery_codes: list[str]


class InvitationCreate(_Input):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    role: str = Field(max_length=64)
    property_id: int | None = Field(None, ge=1, le=2**63 - 1)
    building_id: int | None = Field(None, ge=1, le=2**63 - 1)
    unit_id: int | None = Field(None, ge=1, le=2**63 - 1)
    valid_from: date | None = None
    valid_to: date | None = None


class InvitationPublic(BaseModel):
    id: int


class InvitationAccept(_Input):
    token: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field("", max_length=200)


class AcceptedPublic(BaseModel):
    user_id: int


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    event: str
    outcome: str
    actor_user_id: int | None
    actor_api_key_id: int | None
    actor_label: str
    object: str
    property_id: int | None
    building_id: int | None
    unit_id: int | None
    request_id: str | None
    source_address: str | None
    detail: dict[str, Any]
