"""Errors raised by the server side, mapped to RFC 9457 problem+json.

    ApiError                 (status 500)
    ├── NotFoundError        (404) the object does not exist or is outside the caller's scope
    ├── ForbiddenError       (403) the caller sees the object but may not do this
    ├── ConflictError        (409) the request conflicts with the current state
    ├── InvalidRequestError  (422) the request is well-formed JSON but wrong
    └── DatabaseSetupError   (500) the database cannot be reached or migrated
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every server-side error; ``status`` is the HTTP status it maps to."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFoundError(ApiError):
    status = 404
    title = "Not found"


class ForbiddenError(ApiError):
    status = 403
    title = "Forbidden"


class ConflictError(ApiError):
    status = 409
    title = "Conflict"


class InvalidRequestError(ApiError):
    status = 422
    title = "Invalid request"


class DatabaseSetupError(ApiError):
    status = 500
    title = "Database setup failed"
