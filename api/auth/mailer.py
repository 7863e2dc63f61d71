"""Outgoing e-mail over SMTP (RFC 5321) with the standard library.

Kept tiny on purpose: a message, a host and a port.  Tests run a real SMTP
server (aiosmtpd) on a free port and read what arrived.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from api.errors import ApiError


class MailError(ApiError):
    status = 502
    title = "Mail not sent"


def send_mail(host: str, port: int, sender: str, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"SMTP {host}:{port}: {exc}") from exc
