"""A real SMTP server for the tests (aiosmtpd on a free local port) that keeps what it gets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class Inbox:
    """aiosmtpd handler keeping every message with its envelope recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.everything: list[tuple[list[str], EmailMessage]] = []  # never cleared
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        self.everything.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"

    def take(self) -> dict[str, list[EmailMessage]]:
        """Messages since the last call, by recipient."""
        out: dict[str, list[EmailMessage]] = {}
        for rcpts, msg in self.messages:
            for r in rcpts:
                out.setdefault(r, []).append(msg)
        self.messages.clear()
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def body(msg: EmailMessage) -> str:
    return str(msg.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
