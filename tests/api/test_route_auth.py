"""Every route declares who may call it; only a short explicit list is public."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.routing import APIRoute
from pydantic import SecretStr

from api.app import PUBLIC_ROUTES, create_app
from api.deps import require_staff

# Until the identity issue lands, these are the dependencies that prove identity.
IDENTITY_DEPENDENCIES = {require_staff}


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


def test_every_route_requires_an_identity_except_public_ones() -> None:
    app = create_app("postgresql://unused", SecretStr("x" * 32))
    routes = list(_api_routes(app.routes))
    assert len(routes) >= 5
    unguarded = [
        route.path for route in routes
        if route.path not in PUBLIC_ROUTES
        and not IDENTITY_DEPENDENCIES & set(_dependency_calls(route.dependant))
    ]
    assert unguarded == []
    public_api = [r.path for r in routes if r.path in PUBLIC_ROUTES]
    assert public_api == ["/health"]


def test_short_token_is_refused_at_start() -> None:
    try:
        create_app("postgresql://unused", SecretStr("short"))
    except ValueError as exc:
        assert "at least 16 characters" in str(exc)
    else:
        raise AssertionError("a short token must be refused")
