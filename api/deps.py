"""Dependency aliases for routes: database connection and the caller's identity.

Until user accounts exist (identity issue), staff access uses one bearer token
from the server settings (``METERBILL_API__TOKEN``, generated at start when
unset); comparison is constant-time and the token never reaches a log.
Every route declares ``StaffUser`` (or is in ``api.app.PUBLIC_ROUTES``);
``tests/api/test_route_auth.py`` walks the routes to keep it so.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False, description="Staff API token")


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        yield conn


def require_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    expected: str = request.app.state.api_token.get_secret_value()
    given = credentials.credentials if credentials else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401,
            detail="a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Principal(name="staff-token", role="property_manager")


DbConn = Annotated[psycopg.Connection, Depends(get_conn)]
StaffUser = Annotated[Principal, Depends(require_staff)]
