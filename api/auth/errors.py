"""Authentication errors; mapped to problem+json with their headers by ``api.app``.

    ApiError (api.errors)
    ├── AuthenticationError   (401) no, bad, expired or revoked credentials
    │   └── SecondFactorRequired (401) password fine, TOTP or recovery code missing/wrong
    ├── AccountLockedError    (423) too many failed logins; says until when
    └── RateLimitedError      (429) too many requests; carries Retry-After seconds
"""

from __future__ import annotations

from api.errors import ApiError


class AuthenticationError(ApiError):
    status = 401
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class SecondFactorRequired(AuthenticationError):
    title = "Second factor required"


class AccountLockedError(ApiError):
    status = 423
    title = "Account locked"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class RateLimitedError(ApiError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
