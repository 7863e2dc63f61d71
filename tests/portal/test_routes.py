"""Every portal route proves an identity (the session cookie) except an explicit few."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.portal.identity import current_portal_user
from api.portal.router import PUBLIC_PORTAL_ROUTES, router


def _routes(routes: list) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)


def _calls(dependant) -> Iterator[object]:  # type: ignore[no-untyped-def]
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_every_portal_route_needs_a_session_except_sign_in_and_stylesheet() -> None:
    app = FastAPI()
    app.include_router(router)
    routes = [r for r in _routes(app.routes) if r.path.startswith("/portal")]
    assert len(routes) >= 12
    unguarded = sorted({r.path for r in routes
                        if current_portal_user not in set(_calls(r.dependant))})
    assert unguarded == sorted(PUBLIC_PORTAL_ROUTES) == ["/portal/login",
                                                         "/portal/static/portal.css"]
