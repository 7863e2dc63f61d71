"""Who is acting on a ticket: user id, role grants with their scopes, provider id.

The service layer takes this explicit object instead of a web dependency, so it
works with whatever identity the API provides (bearer token today, users with
scoped roles after the identity issue) and with a provider acting through a
signed link.  A grant is a role within a scope: a tenant of unit 7, a property
manager of property 2, an admin everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.auth.principal import Place  # where a ticket or a scope sits

ROLES = frozenset({"admin", "property_manager", "accountant", "caretaker", "service_provider",
                   "owner", "tenant", "advisory_board", "system"})
STAFF_ROLES = frozenset({"admin", "property_manager", "caretaker", "system"})
MANAGER_ROLES = frozenset({"admin", "property_manager"})
RESIDENT_ROLES = frozenset({"tenant", "owner"})
SCOPE_KINDS = frozenset({"global", "property", "building", "unit"})


@dataclass(frozen=True, slots=True)
class Grant:
    """One role within one scope; ``scope_id`` is None only for ``global``."""

    role: str
    scope_kind: str = "global"
    scope_id: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"grant: unknown role {self.role!r}")
        if self.scope_kind not in SCOPE_KINDS:
            raise ValueError(f"grant: unknown scope kind {self.scope_kind!r}")
        if (self.scope_kind == "global") != (self.scope_id is None):
            raise ValueError("grant: scope_id is required for property/building/unit scopes "
                             "and must be empty for global")


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller; ``provider_id`` links a service_provider user or link to its company."""

    user_id: int | None
    grants: tuple[Grant, ...]
    name: str = ""
    email: str | None = None
    provider_id: int | None = None
    via: str = "web"  # web | email | provider_link

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    @property
    def label(self) -> str:
        return self.name or (f"user {self.user_id}" if self.user_id is not None else "system")


SYSTEM = Actor(user_id=None, grants=(Grant("system"),), name="system")


@dataclass(frozen=True, slots=True)
class ResolvedGrant:
    """A grant with its scope's place looked up (a unit's building, a building's property)."""

    grant: Grant
    place: Place | None  # None for global

    def covers(self, ticket: Place) -> bool:
        """Staff reach: the grant's scope contains the ticket's location."""
        if self.place is None:
            return True
        kind = self.grant.scope_kind
        if kind == "property":
            return self.place.property_id == ticket.property_id
        if kind == "building":
            return self.place.building_id == ticket.building_id
        return self.place.unit_id is not None and self.place.unit_id == ticket.unit_id

    def same_building(self, ticket: Place) -> bool:
        """Resident reach: a unit's or building's grant reaches its whole building."""
        if self.place is None:
            return True
        if self.grant.scope_kind == "property":
            return self.place.property_id == ticket.property_id
        return self.place.building_id == ticket.building_id


@dataclass(frozen=True, slots=True)
class ResolvedActor:
    actor: Actor
    grants: tuple[ResolvedGrant, ...] = field(default=())


def resolve(conn, actor: Actor) -> ResolvedActor:  # type: ignore[no-untyped-def]
    """Look up the place of every scoped grant (one query per grant; actors hold few)."""
    resolved: list[ResolvedGrant] = []
    for grant in actor.grants:
        if grant.scope_kind == "global":
            resolved.append(ResolvedGrant(grant, None))
            continue
        if grant.scope_kind == "property":
            row = conn.execute("SELECT id, NULL, NULL FROM properties WHERE id = %s",
                               (grant.scope_id,)).fetchone()
        elif grant.scope_kind == "building":
            row = conn.execute("SELECT property_id, id, NULL FROM buildings WHERE id = %s",
                               (grant.scope_id,)).fetchone()
        else:
            row = conn.execute(
                "SELECT b.property_id, u.building_id, u.id FROM units u "
                "JOIN buildings b ON b.id = u.building_id WHERE u.id = %s",
                (grant.scope_id,)).fetchone()
        if row is not None:  # a grant on something deleted reaches nothing
            resolved.append(ResolvedGrant(grant, Place(row[0], row[1], row[2])))
    return ResolvedActor(actor, tuple(resolved))
