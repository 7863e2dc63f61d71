"""E-mail notifications: who gets which event, with what they may see, sent by SMTP.

Recipients of an event on a ticket: the reporter, the assignee (caretaker or
provider), the watchers, and for an escalation the property's manager.  The
one who caused the event gets no mail about it.  Each address may switch off
single events (``ticket_notification_prefs``; no row = wanted).

What a recipient may read follows :mod:`api.tickets.visibility`:

- internal notes go to staff only;
- a private ticket goes to nobody but the reporter, staff, the assigned provider
  and the advisory board — a resident watching it gets nothing;
- an anonymous reporter's name goes to staff only.

The provider's mail carries a signed, expiring link (:mod:`api.tickets.provider_links`)
in the URL fragment.  Every mail's Message-ID is recorded so that replies thread
back into the ticket (:mod:`api.tickets.email_replies`); replies go to a
signed ``tickets+<id>-<tag>@`` address.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import psycopg

from api.tickets import provider_links
from api.tickets.actor import STAFF_ROLES
from api.tickets.settings import TicketSettings
from api.tickets.workflow import STATUS_LABELS_DE

log = logging.getLogger("meterbill.tickets.mail")

# audience, most privileged first
_RANK = {"staff": 0, "provider": 1, "board": 2, "reporter": 3, "resident": 4}


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """Something that happened to a ticket and may be worth a mail."""

    ticket_id: int
    kind: str  # created | status | comment | assigned | escalated | survey
    actor_email: str | None = None
    text: str = ""
    internal: bool = False


@dataclass(frozen=True, slots=True)
class Mail:
    ticket_id: int
    event: str
    to: str
    subject: str
    body: str
    message_id: str
    reply_to: str


def _audience_for_role(role: str) -> str:
    if role in STAFF_ROLES:
        return "staff"
    if role == "service_provider":
        return "provider"
    if role == "advisory_board":
        return "board"
    return "resident"


def _may_receive(audience: str, *, visibility: str, internal: bool) -> bool:
    if internal:
        return audience == "staff"
    if visibility == "private":
        return audience in ("staff", "provider", "board", "reporter")
    return True


def build_mails(conn: psycopg.Connection, settings: TicketSettings, event: TicketEvent,
                now: datetime) -> list[Mail]:
    """The mails an event causes, one per recipient, each cut to what they may see.

    Recorded in ``ticket_mail_log`` at once (same transaction as the change), so a
    reply can thread back even if delivery is retried later.
    """
    t = conn.execute(
        """SELECT t.id, t.title, t.description, t.status, t.visibility, t.anonymous,
                  t.reporter_name, t.reporter_email, t.assignee_email, t.provider_id,
                  p.email, t.property_id, b.name, u.code, t.common_area, c.name, t.priority,
                  s.manager_email
             FROM tickets t JOIN buildings b ON b.id = t.building_id
             JOIN ticket_categories c ON c.id = t.category_id
             LEFT JOIN units u ON u.id = t.unit_id
             LEFT JOIN ticket_providers p ON p.id = t.provider_id
             LEFT JOIN ticket_property_settings s ON s.property_id = t.property_id
            WHERE t.id = %s""", (event.ticket_id,)).fetchone()
    if t is None:
        return []
    (tid, title, description, status, visibility, anonymous, reporter_name, reporter_email,
     assignee_email, provider_id, provider_email, _property_id, building_name, unit_code,
     common_area, category, priority, manager_email) = t

    audiences: dict[str, str] = {}

    def add(email: str | None, audience: str) -> None:
        if not email:
            return
        key = email.strip().lower()
        if key not in audiences or _RANK[audience] < _RANK[audiences[key]]:
            audiences[key] = audience

    if event.kind == "escalated":
        add(manager_email, "staff")
    else:
        add(reporter_email, "reporter")
        add(assignee_email, "staff")
        add(provider_email, "provider")
        for email, role in conn.execute(
                "SELECT email, role FROM ticket_watchers WHERE ticket_id = %s", (tid,)):
            add(email, _audience_for_role(role))
    if event.actor_email:
        audiences.pop(event.actor_email.strip().lower(), None)
    if event.kind == "survey":  # the survey invitation is for the reporter alone
        audiences = {k: a for k, a in audiences.items() if a == "reporter"}

    disabled = {str(r[0]) for r in conn.execute(
        "SELECT email FROM ticket_notification_prefs WHERE event = %s AND NOT enabled "
        "AND email = ANY(%s)", (event.kind, list(audiences)))}

    location = building_name + (f", unit {unit_code}" if unit_code else "") + (
        f", {common_area}" if common_area else "")
    mails: list[Mail] = []
    for email, audience in sorted(audiences.items()):
        if email in disabled:
            continue
        if not _may_receive(audience, visibility=visibility, internal=event.internal):
            continue
        show_reporter = not anonymous or audience in ("staff", "reporter")
        lines = [
            f"Ticket #{tid}: {title}",
            f"Status: {STATUS_LABELS_DE[status]} ({status})",
            f"Category: {category} · Priority: {priority}",
            f"Location: {location}",
            f"Reported by: {reporter_name if show_reporter else 'anonymous'}",
            "",
            description,
        ]
        if event.text:
            lines += ["", _event_heading(event), event.text]
        if audience == "provider" and provider_id is not None and event.kind in (
                "created", "assigned"):
            token = provider_links.issue(settings.link_secret, tid, provider_id, now,
                                         timedelta(hours=settings.link_ttl_hours))
            lines += ["", "Update this job without an account:",
                      f"{settings.public_base_url}/provider#token={token}"]
        if event.kind == "survey":
            lines += ["", "How satisfied are you? Rate the repair (1–5):",
                      f"{settings.public_base_url}/tickets/{tid}/survey"]
        message_id = f"<ticket-{tid}-{secrets.token_hex(8)}@{settings.mail_domain}>"
        tag = provider_links.reply_signature(settings.link_secret, tid)
        mails.append(Mail(tid, event.kind, email, f"[Ticket #{tid}] {title}",
                          "\n".join(lines) + "\n", message_id,
                          f"tickets+{tid}-{tag}@{settings.mail_domain}"))
    for mail in mails:
        conn.execute(
            "INSERT INTO ticket_mail_log (ticket_id, message_id, recipient, event, sent_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            (mail.ticket_id, mail.message_id, mail.to, mail.event, now))
    return mails


def _event_heading(event: TicketEvent) -> str:
    return {"comment": "New comment:", "status": "Status changed:",
            "escalated": "SLA breached:", "assigned": "Assigned:"}.get(event.kind, "Note:")


def to_message(settings: TicketSettings, mail: Mail, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail.to
    msg["Reply-To"] = mail.reply_to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    msg["Date"] = format_datetime(now)
    msg.set_content(mail.body)
    return msg


def send(settings: TicketSettings, mails: list[Mail], now: datetime) -> list[tuple[str, str]]:
    """Deliver by SMTP; returns (message_id, error) of the mails that failed.

    One connection for the batch.  A failure is logged by message id and
    recipient, never with the body (it may be private) and never with a link.
    """
    if not mails:
        return []
    failed: list[tuple[str, str]] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            for mail in mails:
                try:
                    smtp.send_message(to_message(settings, mail, now))
                except smtplib.SMTPException as exc:
                    failed.append((mail.message_id, type(exc).__name__))
    except (OSError, smtplib.SMTPException) as exc:
        failed = [(m.message_id, type(exc).__name__) for m in mails]
    for message_id, error in failed:
        log.warning("ticket mail %s not delivered: %s", message_id, error)
    return failed


def record_failures(conn: psycopg.Connection, failed: list[tuple[str, str]]) -> None:
    for message_id, error in failed:
        conn.execute("UPDATE ticket_mail_log SET error = %s WHERE message_id = %s",
                     (error, message_id))
