"""Service levels per priority: time to first response and time to resolution.

The clock runs while a ticket is open, approved or in progress; it is paused
while the ticket waits for a reply (Wartet auf Rückmeldung), because the
provider cannot act then, and it stops when the ticket is done or rejected.
First response is the first status change or public comment by staff or the
provider.  Time comes from an injectable clock so the rules test without
waiting.  A breach escalates once per kind to the property's manager.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from api.tickets.workflow import CLOSED_STATUSES, PAUSE_STATUSES

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True, slots=True)
class SlaStatus:
    first_response_elapsed: timedelta
    resolution_elapsed: timedelta
    first_response_breached: bool
    resolution_breached: bool
    paused: bool


def active_time(created_at: datetime, transitions: Sequence[tuple[datetime, str]],
                until: datetime) -> timedelta:
    """Time the SLA clock ran between creation and ``until``.

    ``transitions`` are (at, new_status) in time order; the ticket starts ``open``.
    """
    total = timedelta(0)
    status = "open"
    since = created_at
    for at, new_status in transitions:
        if at > until:
            break
        if status not in PAUSE_STATUSES and status not in CLOSED_STATUSES:
            total += at - since
        status, since = new_status, at
    if status not in PAUSE_STATUSES and status not in CLOSED_STATUSES and until > since:
        total += until - since
    return total


def evaluate(policy: SlaPolicy, created_at: datetime,
             transitions: Sequence[tuple[datetime, str]],
             first_response_at: datetime | None, now: datetime) -> SlaStatus:
    first = active_time(created_at, transitions, first_response_at or now)
    resolution = active_time(created_at, transitions, now)
    status = transitions[-1][1] if transitions else "open"
    return SlaStatus(
        first_response_elapsed=first,
        resolution_elapsed=resolution,
        first_response_breached=first > policy.first_response,
        resolution_breached=resolution > policy.resolution,
        paused=status in PAUSE_STATUSES,
    )


def policy_for(conn: psycopg.Connection, property_id: int, priority: str) -> SlaPolicy:
    """The property's own policy for the priority, else the default (property NULL)."""
    row = conn.execute(
        """SELECT first_response_minutes, resolution_minutes FROM ticket_sla_policies
            WHERE priority = %s AND (property_id = %s OR property_id IS NULL)
            ORDER BY property_id NULLS LAST LIMIT 1""",
        (priority, property_id)).fetchone()
    if row is None:
        raise LookupError(f"no SLA policy for priority {priority!r}")
    return SlaPolicy(timedelta(minutes=int(row[0])), timedelta(minutes=int(row[1])))


def ticket_status(conn: psycopg.Connection, ticket_id: int, now: datetime) -> SlaStatus:
    """Evaluate one ticket's SLA from its history."""
    row = conn.execute("SELECT property_id, priority, created_at FROM tickets WHERE id = %s",
                       (ticket_id,)).fetchone()
    if row is None:
        raise LookupError(f"ticket {ticket_id} not found")
    property_id, priority, created_at = row
    transitions = [(r[0], r[1]) for r in conn.execute(
        """SELECT at, to_status FROM ticket_history
            WHERE ticket_id = %s AND kind = 'status' ORDER BY at, id""", (ticket_id,))]
    first = conn.execute(
        """SELECT min(at) FROM ticket_history
            WHERE ticket_id = %s AND kind IN ('status', 'comment')
              AND actor_role IN ('admin', 'property_manager', 'caretaker', 'service_provider')""",
        (ticket_id,)).fetchone()
    first_at = first[0] if first else None
    return evaluate(policy_for(conn, property_id, priority), created_at, transitions,
                    first_at, now)
