"""The decision: may this principal do this action on this object (no database here).

404 when no assignment covers the object (same detail as a missing object, so
an id outside one's scope cannot be told from one that does not exist), 403
when one does but none allows the action.  Staff roles need a second factor
when the policy says so.
"""

from __future__ import annotations

from datetime import date

from api.auth.principal import Assignment, Place, Principal
from api.auth.settings import STAFF_ROLES
from api.errors import ForbiddenError, NotFoundError
from api.permissions import PAST_ACTIONS, PAST_ROLES, allowed_levels


def _assignment_allows(a: Assignment, action: str, today: date,
                       period: tuple[date, date] | None) -> bool:
    if a.level not in allowed_levels(action, a.role):
        return False
    if a.role in PAST_ROLES and action in PAST_ACTIONS and period is not None:
        # Statements are theirs only for the time they lived (or owned) there.
        return a.valid_from <= today and a.overlaps(*period)
    return a.valid_on(today)


def _sees(a: Assignment, action: str, today: date) -> bool:
    if a.valid_on(today):
        return True
    return a.role in PAST_ROLES and action in PAST_ACTIONS and a.valid_from <= today


def decide(principal: Principal, action: str, place: Place | None, *, today: date,
           period: tuple[date, date] | None = None, not_found: str = "not found",
           require_totp_for_staff: bool = True) -> None:
    """Return if allowed; raise NotFoundError or ForbiddenError otherwise."""
    if principal.kind == "api_key":
        covered = place is None or any(a.covers(place) for a in principal.assignments)
        if not covered:
            raise NotFoundError(not_found)
        if action != "self" and (principal.actions is None or action not in principal.actions):
            raise ForbiddenError(f"this API key is not scoped for {action}")
        return
    if (require_totp_for_staff and not principal.mfa and action != "self"
            and any(a.role in STAFF_ROLES and a.valid_on(today) for a in principal.assignments)):
        raise ForbiddenError("staff roles need a second factor: enrol TOTP with "
                             "POST /auth/totp/enroll and /auth/totp/confirm, then log in again")
    if place is None:
        if any(_assignment_allows(a, action, today, period) for a in principal.assignments):
            return
        if action == "self":
            return  # a signed-in user without any role may still manage their account
        raise ForbiddenError(f"none of your roles allows {action}")
    covering = [a for a in principal.assignments if a.covers(place) and _sees(a, action, today)]
    if not covering:
        raise NotFoundError(not_found)
    if not any(_assignment_allows(a, action, today, period) for a in covering):
        raise ForbiddenError(f"your role here does not allow {action}")
