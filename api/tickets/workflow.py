"""The status flow of a ticket, and who may move it where (data, not code).

DIN SPEC 77008's end-to-end process: the resident reports (Offen), the manager
approves (Freigegeben) or rejects (Abgelehnt), the assignee works on it (In
Bearbeitung) and finishes it (Erledigt).  Wartet auf Rückmeldung is a pause: the
SLA clock stops while someone is asked for information.  Managers may reopen a
rejected or finished ticket.  Residents and the advisory board move nothing;
they comment (reporter) or watch.

A move not in the table for the current status is a conflict (409) naming the
next states the caller could choose; a move in the table that the caller's role
may not make is forbidden (403) — the ticket is visible to them, the action is not.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.errors import ConflictError, ForbiddenError

STATUSES = ("open", "approved", "in_progress", "done", "rejected", "waiting")
STATUS_LABELS_DE = {
    "open": "Offen",
    "approved": "Freigegeben",
    "in_progress": "In Bearbeitung",
    "done": "Erledigt",
    "rejected": "Abgelehnt",
    "waiting": "Wartet auf Rückmeldung",
}
OPEN_STATUSES = frozenset({"open", "approved", "in_progress", "waiting"})
CLOSED_STATUSES = frozenset({"done", "rejected"})
PAUSE_STATUSES = frozenset({"waiting"})

_MANAGERS = frozenset({"admin", "property_manager", "system"})
_WORKERS = frozenset({"admin", "property_manager", "caretaker", "service_provider"})

# (from, to) -> roles (as seen by api.tickets.visibility) that may make the move.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("open", "approved"): _MANAGERS,
    ("open", "rejected"): _MANAGERS,
    ("open", "waiting"): _MANAGERS | {"caretaker"},
    ("approved", "in_progress"): _WORKERS,
    ("approved", "waiting"): _WORKERS,
    ("approved", "rejected"): _MANAGERS,
    ("approved", "open"): _MANAGERS,
    ("in_progress", "done"): _WORKERS,
    ("in_progress", "waiting"): _WORKERS,
    ("waiting", "open"): _MANAGERS,
    ("waiting", "approved"): _MANAGERS,
    ("waiting", "in_progress"): _WORKERS,
    ("waiting", "rejected"): _MANAGERS,
    ("rejected", "open"): _MANAGERS,
    ("done", "open"): _MANAGERS,
    ("done", "in_progress"): _MANAGERS,
}


def next_states(current: str, roles: Iterable[str]) -> list[str]:
    """The states these roles may move a ticket to from ``current``, in flow order."""
    have = set(roles)
    return [to for to in STATUSES
            if (current, to) in TRANSITIONS and TRANSITIONS[(current, to)] & have]


def check_transition(current: str, target: str, roles: Iterable[str]) -> None:
    """Raise unless one of ``roles`` may move a ticket from ``current`` to ``target``."""
    have = set(roles)
    if target not in STATUSES:
        raise ConflictError(f"unknown status {target!r}; statuses are {', '.join(STATUSES)}",
                            field="status")
    allowed = next_states(current, have)
    allowed_text = ", ".join(allowed) if allowed else "none"
    if (current, target) not in TRANSITIONS:
        raise ConflictError(
            f"cannot move a ticket from {current} to {target}; "
            f"allowed next states: {allowed_text}", field="status")
    if not TRANSITIONS[(current, target)] & have:
        raise ForbiddenError(
            f"your role may not move a ticket from {current} to {target}; "
            f"allowed next states for you: {allowed_text}", field="status")
