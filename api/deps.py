"""Dependency aliases for routes: the request transaction and the caller's identity.

Every request that touches data runs in one transaction on a pooled
connection, which first drops to the application role (``SET LOCAL ROLE
meterbill_app``) and, once the caller is known, sets ``meterbill.user_id`` or
``meterbill.api_key_id`` with ``set_config(…, true)`` (transaction-local), so the
row-level security policies of 0005_identity.sql see the same caller as the
application does.  Nothing survives the transaction into the next request.

``authorize`` is the one identity dependency: it looks the route up in
``api.permissions.ROUTES``, finds the object named by the path parameter,
and decides (404 outside every scope, 403 for a wrong action).  Routes use:

    DbConn       the request's connection (implies authorize)
    CurrentUser  the authorized principal (``StaffUser`` is the same, kept for
                 routes written before roles existed: the table decides who passes)

A route missing from the table is refused for everyone but installation-wide
admins; ``tests/api/test_route_auth.py`` fails on such a route.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.audit import RequestContext
from api.auth.authorization import decide
from api.auth.identity import authenticate
from api.auth.principal import Place, Principal
from api.auth.sessions import begin_as_app
from api.auth.settings import AuthSettings
from api.errors import ForbiddenError, NotFoundError
from api.permissions import ROUTES, RoutePermission

_bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key")

_UNLISTED = RoutePermission("route:unlisted")
BIGINT_MAX = 2**63 - 1


def request_context(request: Request) -> RequestContext:
    client = request.client.host if request.client else ""
    return RequestContext(getattr(request.state, "request_id", ""), client)


def auth_settings(request: Request) -> AuthSettings:
    return request.app.state.auth_settings  # type: ignore[no-any-return]


def transaction(request: Request) -> Iterator[psycopg.Connection]:
    """The request's connection, inside a transaction running as meterbill_app."""
    with request.app.state.pool.connection() as conn, conn.transaction():
        begin_as_app(conn)
        yield conn


def current_principal(
    request: Request,
    conn: Annotated[psycopg.Connection, Depends(transaction)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return authenticate(conn, auth_settings(request),
                        credentials.credentials if credentials else "")


def _period_dates(request: Request) -> tuple[date, date] | None:
    """The dates a period query asks about (first, last), or None if absent or malformed.
    Malformed values are left for the route's own validation to answer with 422."""
    q = request.query_params
    try:
        if "period" in q:
            year, month = (int(x) for x in q["period"].split("-"))
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        if "start" in q and "end" in q:
            return date.fromisoformat(q["start"]), date.fromisoformat(q["end"])
    except ValueError:
        return None
    return None


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit()


def _place(conn: psycopg.Connection, param: str, raw: str) -> tuple[Place | None, str]:
    """Where the object named by path parameter ``param`` sits (None if it does not exist)."""
    noun = param.removesuffix("_id")
    detail = f"{noun} {raw} not found"
    if not _is_id(raw) or int(raw) > BIGINT_MAX:  # no such row; PostgreSQL would refuse it
        return None, detail
    if param == "unit_id":
        row = conn.execute("SELECT * FROM meterbill_unit_place(%s)", (int(raw),)).fetchone()
        return (Place(int(row[2]), int(row[1]), int(row[0])) if row else None), detail
    if param == "building_id":
        row = conn.execute("SELECT * FROM meterbill_building_place(%s)", (int(raw),)).fetchone()
        return (Place(int(row[1]), int(row[0])) if row else None), detail
    if param == "property_id":
        row = conn.execute("SELECT id FROM properties WHERE id = %s", (int(raw),)).fetchone()
        return (Place(int(row[0])) if row else None), detail
    raise ForbiddenError(f"no object rule for path parameter {param}")


def authorize(
    request: Request,
    conn: Annotated[psycopg.Connection, Depends(transaction)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Enforce the route's entry in the permission table for this principal."""
    settings = auth_settings(request)
    route = request.scope.get("route")
    key = (request.method, getattr(route, "path", ""))
    perm = ROUTES.get(key, _UNLISTED)
    if perm.expensive:
        limiter = request.app.state.expensive_limiter
        limiter.hit(("principal", principal.kind, principal.id), "requests to expensive routes")
        limiter.hit(("address", request_context(request).source_address),
                    "requests to expensive routes from this address")
    place: Place | None = None
    if perm.target is not None:
        raw = str(request.path_params.get(perm.target, ""))
        place, detail = _place(conn, perm.target, raw)
        if place is None:
            if not _is_id(raw):
                return principal  # not an id at all: the route answers 422
            raise NotFoundError(detail)
    else:
        detail = "not found"
    today = date.today()
    if perm is _UNLISTED:
        if not any(a.level == "installation" and a.role == "admin" and a.valid_on(today)
                   for a in principal.assignments):
            raise ForbiddenError(f"{key[0]} {key[1]} has no entry in the permission table")
    else:
        decide(principal, perm.action, place, today=today, period=_period_dates(request),
               not_found=detail, require_totp_for_staff=settings.require_totp_for_staff)
    if perm.billing_context and place is not None and place.building_id is not None:
        conn.execute("SELECT set_config('meterbill.billing_building_id', %s, true)",
                     (str(place.building_id),))
    return principal


def get_conn(
    conn: Annotated[psycopg.Connection, Depends(transaction)],
    _principal: Annotated[Principal, Depends(authorize)],
) -> psycopg.Connection:
    return conn


def bind_user(conn: psycopg.Connection, user_id: int) -> None:
    """For routes with a credential of their own (portal cookie, provider link): once
    it is checked, make the row-level security policies see this user."""
    conn.execute("SELECT set_config('meterbill.user_id', %s, true)", (str(user_id),))


DbConn = Annotated[psycopg.Connection, Depends(get_conn)]
# No identity yet: rows under RLS stay invisible until bind_user. Only for routes in
# PUBLIC_ROUTES or with their own credential.
TxConn = Annotated[psycopg.Connection, Depends(transaction)]
CurrentUser = Annotated[Principal, Depends(authorize)]
StaffUser = CurrentUser
Settings = Annotated[AuthSettings, Depends(auth_settings)]
Context = Annotated[RequestContext, Depends(request_context)]
