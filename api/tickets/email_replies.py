"""Replies by e-mail, threaded into their ticket.

A reply finds its ticket by, in this order:

1. the signed reply address ``tickets+<id>-<tag>@domain`` in To/Cc/Delivered-To
   (the tag is an HMAC, so a number cannot be guessed into another ticket);
2. In-Reply-To / References naming a Message-ID we sent (``ticket_mail_log``);
   a Message-ID we never sent threads nothing.

The sender must be someone the ticket already mails (reporter, assignee,
provider, watcher); anyone else's mail is refused.  Quoted text (``>`` lines
and everything from an "On … wrote:" line on) is cut, so the ticket keeps
what is new.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import psycopg

from api.errors import InvalidRequestError
from api.tickets.provider_links import reply_signature
from api.tickets.settings import TicketSettings

_REPLY_ADDRESS = re.compile(r"^tickets\+(\d+)-([A-Za-z0-9_-]+)@", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_QUOTE_HEADER = re.compile(r"^(On .+ wrote:|Am .+ schrieb .+:)\s*$")


@dataclass(frozen=True, slots=True)
class InboundReply:
    ticket_id: int
    sender: str
    body: str


def _plain_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        raise InvalidRequestError("inbound mail has no text/plain part", field="body")
    return str(part.get_content())


def strip_quoted(text: str) -> str:
    kept: list[str] = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def parse_inbound(conn: psycopg.Connection, settings: TicketSettings, raw: bytes) -> InboundReply:
    """Find the ticket an inbound mail answers; InvalidRequestError when none is found."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    sender = parseaddr(str(msg.get("From", "")))[1].strip().lower()
    if not sender:
        raise InvalidRequestError("inbound mail has no From address", field="From")
    ticket_id: int | None = None
    for _name, address in getaddresses([str(v) for h in ("To", "Cc", "Delivered-To")
                                        for v in msg.get_all(h, [])]):
        m = _REPLY_ADDRESS.match(address)
        if m and hmac.compare_digest(m.group(2),
                                     reply_signature(settings.link_secret, int(m.group(1)))):
            ticket_id = int(m.group(1))
            break
    if ticket_id is None:
        refs = _MESSAGE_ID.findall(" ".join(str(msg.get(h, ""))
                                            for h in ("In-Reply-To", "References")))
        if refs:
            row = conn.execute(
                "SELECT ticket_id FROM ticket_mail_log WHERE message_id = ANY(%s) "
                "ORDER BY sent_at DESC LIMIT 1", (refs,)).fetchone()
            ticket_id = int(row[0]) if row else None
    if ticket_id is None:
        raise InvalidRequestError("inbound mail answers no ticket we wrote about",
                                  field="In-Reply-To")
    body = strip_quoted(_plain_text(msg))
    if not body:
        raise InvalidRequestError("inbound mail has no new text", field="body")
    return InboundReply(ticket_id, sender, body)
