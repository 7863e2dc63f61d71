"""The permission table: role × action × scope, as data.

``GRANTS[action][role]`` is the set of assignment levels (installation,
property, building, unit) at which holding ``role`` allows ``action``.  An
assignment allows an action on an object when its level is in that set *and*
its scope covers the object (a property covers its buildings, a building its
units).  ``ROUTES`` names the action and the object of every route; the
dependency ``api.deps.authorize`` enforces both, and
``tests/auth/test_role_route_matrix.py`` walks this table against the real
database.  ``docs/permissions.md`` is generated from it by ``markdown_table()``.

Object-level answers (issue 10): an object outside every scope the caller
holds is 404, the same answer as a missing one, so ids leak nothing; a wrong
action on an object the caller does see is 403.

``PAST_ACTIONS``: a tenant or owner who moved out keeps these (their past
statements) for periods that overlap their tenancy, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

ROLES = ("admin", "property_manager", "accountant", "caretaker", "service_provider",
         "owner", "tenant", "advisory_board_member")
LEVELS = ("installation", "property", "building", "unit")

_ANY = frozenset(LEVELS)
_WIDE = frozenset({"installation", "property", "building"})
_UNIT = frozenset({"unit"})
_INSTALLATION = frozenset({"installation"})

# action -> role -> levels at which the role allows it.
GRANTS: MappingProxyType[str, MappingProxyType[str, frozenset[str]]] = MappingProxyType({
    action: MappingProxyType(roles) for action, roles in {
        # Calls about oneself (profile, logout, second factor): any signed-in user.
        "self": {role: _ANY for role in ROLES},
        "units:list": {"admin": _ANY, "property_manager": _ANY, "accountant": _ANY,
                       "caretaker": _ANY, "owner": _ANY, "tenant": _ANY,
                       "advisory_board_member": _ANY},
        "readings:read": {"admin": _ANY, "property_manager": _ANY, "accountant": _ANY,
                          "caretaker": _ANY, "owner": _UNIT, "tenant": _UNIT},
        "consumption:read": {"admin": _ANY, "property_manager": _ANY, "accountant": _ANY,
                             "caretaker": _ANY, "owner": _UNIT, "tenant": _UNIT},
        # One unit's statement.
        "bill:read": {"admin": _ANY, "property_manager": _ANY, "accountant": _ANY,
                      "owner": _UNIT, "tenant": _UNIT},
        # A whole building's bills (every unit): never for a single unit's people.
        "building_bill:read": {"admin": _ANY, "property_manager": _WIDE, "accountant": _WIDE,
                               "advisory_board_member": _WIDE},
        "readings:write": {"admin": _ANY, "property_manager": _WIDE, "caretaker": _WIDE},
        "invitations:create": {"admin": _ANY, "property_manager": _WIDE},
        "audit:read": {"admin": _ANY, "accountant": _WIDE},
        # Held for the ledger, bank and ticket routes of later issues.
        "ledger:read": {"admin": _ANY, "property_manager": _WIDE, "accountant": _WIDE,
                        "advisory_board_member": _WIDE},
        "bank:import": {"admin": _ANY, "accountant": _WIDE},
        "tickets:read_assigned": {"service_provider": _ANY, "caretaker": _WIDE,
                                  "property_manager": _WIDE, "admin": _ANY},
        # Tickets need per-ticket decisions the table cannot express (private or public,
        # reporter, assigned provider, anonymity): every signed-in role reaches the
        # routes and api.tickets.service answers 404/403 per ticket.
        "tickets:use": {role: _ANY for role in ROLES},
        # Books, bank import, matching and dunning. Their services do not yet narrow
        # results to a caller's property, so only installation-wide staff may call
        # them; property-scoped accountants and managers follow with object scoping.
        "ledger:view": {"admin": _INSTALLATION, "accountant": _INSTALLATION},
        "ledger:write": {"admin": _INSTALLATION, "accountant": _INSTALLATION},
    }.items()
})

PAST_ACTIONS = frozenset({"bill:read"})
PAST_ROLES = frozenset({"tenant", "owner"})

# Roles a manager may hand out by invitation (admin may hand out any).
INVITABLE_BY_MANAGER = frozenset({"tenant", "owner", "caretaker", "service_provider",
                                  "advisory_board_member", "accountant"})


@dataclass(frozen=True, slots=True)
class RoutePermission:
    """``target``: the path parameter naming the object (None = a collection or oneself).
    ``billing_context``: computing the answer needs the whole building (see
    meterbill_billing_building in 0005_identity.sql).  ``expensive``: rate-limited."""

    action: str
    target: str | None = None
    billing_context: bool = False
    expensive: bool = False


ROUTES: MappingProxyType[tuple[str, str], RoutePermission] = MappingProxyType({
    ("GET", "/units"): RoutePermission("units:list"),
    ("GET", "/units/{unit_id}/readings"): RoutePermission("readings:read", "unit_id"),
    ("GET", "/units/{unit_id}/consumption"): RoutePermission("consumption:read", "unit_id"),
    ("GET", "/units/{unit_id}/bill"): RoutePermission("bill:read", "unit_id",
                                                      billing_context=True, expensive=True),
    ("GET", "/buildings/{building_id}/bills"): RoutePermission("building_bill:read",
                                                               "building_id", expensive=True),
    ("GET", "/auth/me"): RoutePermission("self"),
    ("POST", "/auth/logout"): RoutePermission("self"),
    ("POST", "/auth/logout-all"): RoutePermission("self"),
    ("POST", "/auth/totp/enroll"): RoutePermission("self"),
    ("POST", "/auth/totp/confirm"): RoutePermission("self"),
    ("POST", "/invitations"): RoutePermission("invitations:create"),
    ("GET", "/audit"): RoutePermission("audit:read"),
    # Tickets (api/tickets/router.py); object-level checks in api.tickets.service.
    ("GET", "/tickets"): RoutePermission("tickets:use"),
    ("POST", "/tickets"): RoutePermission("tickets:use"),
    ("GET", "/tickets/{ticket_id}"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/status"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/assignment"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/comments"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/attachments"): RoutePermission("tickets:use"),
    ("GET", "/tickets/{ticket_id}/attachments/{attachment_id}"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/merge"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/survey"): RoutePermission("tickets:use"),
    ("POST", "/tickets/{ticket_id}/watchers"): RoutePermission("tickets:use"),
    ("GET", "/properties/{property_id}/ticket-categories"): RoutePermission("tickets:use"),
    ("POST", "/properties/{property_id}/ticket-categories"): RoutePermission("tickets:use"),
    ("GET", "/properties/{property_id}/ticket-metrics"): RoutePermission("tickets:use",
                                                                          expensive=True),
    ("PUT", "/properties/{property_id}/ticket-routing"): RoutePermission("tickets:use"),
    ("PUT", "/properties/{property_id}/ticket-settings"): RoutePermission("tickets:use"),
    ("POST", "/ticket-mail/inbound"): RoutePermission("tickets:use"),
    ("POST", "/ticket-providers"): RoutePermission("tickets:use"),
    ("POST", "/ticket-sla/escalations"): RoutePermission("tickets:use"),
    ("PUT", "/ticket-notification-prefs"): RoutePermission("tickets:use"),
    # Ledger, invoices, bank import, reconciliation, dunning (installation-wide staff).
    ("POST", "/ledger/transactions"): RoutePermission("ledger:write"),
    ("POST", "/ledger/transactions/{transaction_id}/reversal"): RoutePermission("ledger:write"),
    ("GET", "/ledger/verify"): RoutePermission("ledger:view", expensive=True),
    ("GET", "/tenants/{tenant_id}/balances"): RoutePermission("ledger:view"),
    ("GET", "/tenants/{tenant_id}/statement"): RoutePermission("ledger:view"),
    ("POST", "/invoices"): RoutePermission("ledger:write"),
    ("GET", "/invoices/{invoice_id}"): RoutePermission("ledger:view"),
    ("POST", "/invoices/{invoice_id}/credit-notes"): RoutePermission("ledger:write"),
    ("GET", "/invoices/{invoice_id}/girocode.svg"): RoutePermission("ledger:view"),
    ("POST", "/bank/statements"): RoutePermission("ledger:write", expensive=True),
    ("POST", "/reconciliation/runs"): RoutePermission("ledger:write", expensive=True),
    ("GET", "/reconciliation/review"): RoutePermission("ledger:view"),
    ("POST", "/reconciliation/entries/{entry_id}/confirm"): RoutePermission("ledger:write"),
    ("POST", "/reconciliation/entries/{entry_id}/override"): RoutePermission("ledger:write"),
    ("GET", "/reconciliation/anomalies"): RoutePermission("ledger:view"),
    ("POST", "/dunning/runs"): RoutePermission("ledger:write"),
    ("POST", "/dunning/direct-debit-file"): RoutePermission("ledger:write"),
})

# Routes without identity: health, sign-in steps that carry their own credential
# (password, refresh token, invitation token), and the OpenAPI documents.
PUBLIC_ROUTES = frozenset({"/health", "/auth/login", "/auth/refresh",
                           "/auth/invitations/accept", "/docs", "/docs/oauth2-redirect",
                           "/openapi.json", "/redoc",
                           # a provider's signed, expiring ticket link is the credential
                           "/provider-link/ticket", "/provider-link/ticket/status",
                           "/provider-link/ticket/comments",
                           "/provider-link/ticket/attachments"})


def allowed_levels(action: str, role: str) -> frozenset[str]:
    return GRANTS.get(action, MappingProxyType({})).get(role, frozenset())


def markdown_table() -> str:
    """The table as Markdown: one row per action, one column per role."""
    head = "| action | " + " | ".join(ROLES) + " |"
    rule = "|---" * (len(ROLES) + 1) + "|"
    rows = []
    for action, roles in GRANTS.items():
        cells = []
        for role in ROLES:
            levels = roles.get(role, frozenset())
            cells.append("any scope" if levels == _ANY else
                         ", ".join(lv for lv in LEVELS if lv in levels) or "—")
        suffix = " (also past tenancy)" if action in PAST_ACTIONS else ""
        rows.append(f"| `{action}`{suffix} | " + " | ".join(cells) + " |")
    routes = ["| route | action | object |", "|---|---|---|"]
    for (method, path), perm in ROUTES.items():
        routes.append(f"| `{method} {path}` | `{perm.action}` | {perm.target or '—'} |")
    public = ", ".join(f"`{p}`" for p in sorted(PUBLIC_ROUTES))
    return "\n".join([head, rule, *rows, "", *routes, "", f"Public routes: {public}.", ""])
