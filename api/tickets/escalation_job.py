"""The periodic SLA escalation job: what cron runs as ``meterbill tickets escalate``.

The same steps as ``POST /ticket-sla/escalations``, without a web request:
escalate every breached SLA once per kind, mail the managers, and record mails
that could not be delivered so they are not silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from api.tickets import service
from api.tickets.notifications import record_failures, send
from api.tickets.settings import TicketSettings
from api.tickets.sla import Clock, utc_now


@dataclass(frozen=True, slots=True)
class EscalationRun:
    escalated: int
    mails_sent: int
    mails_failed: int


def run_escalations(conn: psycopg.Connection, settings: TicketSettings, *,
                    clock: Clock = utc_now, property_id: int | None = None) -> EscalationRun:
    events = service.escalate_breaches(conn, clock=clock, property_id=property_id)
    mails = service.mails_for(conn, settings, events, clock=clock)
    failed = send(settings, mails, clock()) if mails else []
    if failed:
        record_failures(conn, failed)
    return EscalationRun(len(events), len(mails) - len(failed), len(failed))
