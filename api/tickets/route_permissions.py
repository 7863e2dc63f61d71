"""The ticket routes' entries for the permission table of ``api.permissions``.

Tickets need object-level decisions the table cannot express (private or
public, the reporter, the assigned provider, anonymity), so the table lets
every signed-in role reach the ticket routes (action ``tickets:use``, no path
target) and :mod:`api.tickets.service` answers 404/403 per ticket.  The
provider-link routes carry their own credential (a signed link) and belong
with the public routes, like the invitation acceptance.

To wire them (``api/permissions.py``)::

    from api.tickets.route_permissions import TICKET_GRANTS, ticket_routes
    GRANTS = ... {**existing, **TICKET_GRANTS}
    ROUTES = ... {**existing, **ticket_routes()}
    PUBLIC_ROUTES = ... | PROVIDER_LINK_ROUTES
"""

from __future__ import annotations

from fastapi.routing import APIRoute

TICKET_ACTION = "tickets:use"
ALL_ROLES = ("admin", "property_manager", "accountant", "caretaker", "service_provider",
             "owner", "tenant", "advisory_board_member")
ALL_LEVELS = frozenset({"installation", "property", "building", "unit"})
TICKET_GRANTS = {TICKET_ACTION: {role: ALL_LEVELS for role in ALL_ROLES}}
PROVIDER_LINK_ROUTES = frozenset({"/provider-link/ticket", "/provider-link/ticket/status",
                                  "/provider-link/ticket/comments",
                                  "/provider-link/ticket/attachments"})


def ticket_routes() -> dict[tuple[str, str], object]:
    """``(method, path) -> RoutePermission`` for every route of ``api.tickets.router.router``."""
    from api.permissions import RoutePermission
    from api.tickets.router import router

    out: dict[tuple[str, str], object] = {}
    for route in router.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                out[(method, route.path)] = RoutePermission(
                    TICKET_ACTION, expensive=route.path.endswith("/ticket-metrics"))
    return out
