"""Who sees a ticket, and what of it.

Rules (issue 11):

- staff (admin, property manager, caretaker) see every ticket inside their scope;
- the reporter sees their own ticket;
- residents (tenant, owner) of the building see its *public* tickets;
- an advisory board member sees all of the building's tickets (read only);
- a service provider sees only tickets assigned to it;
- an anonymous report hides the reporter from providers and other residents;
  staff still see who it was (they must be able to ask back);
- internal notes are staff only;
- accountants have no business with repairs and see none.

Outside of this the ticket does not exist for the caller (404, so its number
leaks nothing); a visible ticket with a forbidden action is 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.tickets.actor import MANAGER_ROLES, RESIDENT_ROLES, STAFF_ROLES, Place, ResolvedActor


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What visibility depends on, nothing more (so the rules test without a database)."""

    place: Place
    visibility: str  # private | public
    anonymous: bool
    reporter_user_id: int | None
    provider_id: int | None


@dataclass(frozen=True, slots=True)
class View:
    """The caller's relation to one ticket: the roles they act in, and what they may see."""

    # staff roles, 'reporter', 'resident', 'advisory_board', 'service_provider'
    roles: frozenset[str]

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    @property
    def is_manager(self) -> bool:
        return bool(self.roles & (MANAGER_ROLES | {"system"}))

    def show_reporter(self, anonymous: bool) -> bool:
        return not anonymous or self.is_staff or "reporter" in self.roles

    @property
    def show_internal(self) -> bool:
        return self.is_staff

    @property
    def may_comment(self) -> bool:
        return self.is_staff or bool(self.roles & {"reporter", "service_provider"})


def view_of(who: ResolvedActor, ticket: TicketFacts) -> View | None:
    """The caller's view of the ticket, or None when it is outside their reach.

    Anonymity never changes *whether* a ticket is visible, only
    :attr:`View.show_reporter` (the reporter's identity).
    """
    roles: set[str] = set()
    actor = who.actor
    for rg in who.grants:
        role = rg.grant.role
        if role in STAFF_ROLES and rg.covers(ticket.place):
            roles.add(role)
        elif role == "advisory_board" and rg.same_building(ticket.place):
            roles.add("advisory_board")
        elif (role in RESIDENT_ROLES and ticket.visibility == "public"
              and rg.same_building(ticket.place)):
            roles.add("resident")
        elif (role == "service_provider" and actor.provider_id is not None
              and actor.provider_id == ticket.provider_id):
            roles.add("service_provider")
    if (actor.user_id is not None and actor.user_id == ticket.reporter_user_id
            and actor.roles & (RESIDENT_ROLES | STAFF_ROLES | {"advisory_board"})):
        roles.add("reporter")
    if not roles:
        return None
    return View(frozenset(roles))
