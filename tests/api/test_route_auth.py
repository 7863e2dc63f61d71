"""Every route declares who may call it; only a short explicit list is public."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from pydantic import SecretStr

from api.app import PUBLIC_ROUTES, create_app
from api.deps import authorize
from api.permissions import GRANTS, ROUTES
from api.portal.identity import current_portal_user
from api.portal.router import PUBLIC_PORTAL_ROUTES

# The dependencies that prove identity: the API's (bearer token, permission table) and
# the portal's (session cookie, then a per-unit decision with the same table).
IDENTITY_DEPENDENCIES = {authorize, current_portal_user}
PUBLIC = PUBLIC_ROUTES | PUBLIC_PORTAL_ROUTES


def _api_routes(routes: list) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes)


def _dependency_calls(dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _dependency_calls(dep)


def _routes() -> list[APIRoute]:
    app = create_app("postgresql://unused", SecretStr("x" * 32))
    return list(_api_routes(app.routes))


def test_every_route_requires_an_identity_except_public_ones() -> None:
    routes = _routes()
    assert len(routes) >= 12
    unguarded = [
        route.path for route in routes
        if route.path not in PUBLIC
        and not IDENTITY_DEPENDENCIES & set(_dependency_calls(route.dependant))
    ]
    assert unguarded == []
    public_api = sorted(r.path for r in routes if r.path in PUBLIC)
    assert public_api == [
        "/auth/invitations/accept", "/auth/login", "/auth/refresh", "/health",
        "/portal/login", "/portal/login", "/portal/static/portal.css",
        "/provider-link/ticket", "/provider-link/ticket/attachments",
        "/provider-link/ticket/comments", "/provider-link/ticket/status",
    ]


def test_every_guarded_route_has_an_entry_in_the_permission_table() -> None:
    # Portal pages check each unit with the same table (api.portal.identity); they have
    # no entries of their own.
    missing = [
        (method, route.path) for route in _routes()
        if route.path not in PUBLIC and not route.path.startswith("/portal/")
        for method in sorted(route.methods) if (method, route.path) not in ROUTES
    ]
    assert missing == []
    stale = set(ROUTES) - {(m, r.path) for r in _routes() for m in r.methods}
    assert stale == set()
    assert {perm.action for perm in ROUTES.values()} <= set(GRANTS)


def test_short_signing_secret_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        create_app("postgresql://unused", SecretStr("short-secret-0123456789"))
