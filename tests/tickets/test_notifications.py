"""E-mails through a real SMTP server (aiosmtpd): recipients, private content, links, replies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest

from api.errors import ForbiddenError, InvalidRequestError
from api.tickets import email_replies, provider_links, service
from tests.tickets.conftest import Api
from tests.tickets.smtp_sink import Inbox, body, smtp_inbox


@pytest.fixture
def inbox(api: Api) -> Iterator[Inbox]:
    with smtp_inbox() as handler:
        settings = api.app.state.ticket_settings
        api.app.state.ticket_settings = settings.model_copy(update={"smtp_port": handler.port})
        yield handler


def _token(msg: EmailMessage) -> str:
    for line in body(msg).splitlines():
        if "#token=" in line:
            return line.split("#token=", 1)[1].strip()
    raise AssertionError("no provider link in the mail")


def _setup_routing(api: Api) -> None:
    ids = api.world.ids
    r = api.client.post(f"/properties/{ids['p1']}/ticket-categories", json={"name": "Sanitär"},
                        headers=api.as_("manager"))
    assert r.status_code == 201, r.text
    ids["sanitaer"] = r.json()["id"]
    r = api.client.put(f"/properties/{ids['p1']}/ticket-routing", headers=api.as_("manager"),
                       json={"category_id": ids["sanitaer"], "action": "assign_provider",
                             "provider_id": ids["prov_x"]})
    assert r.status_code == 204, r.text


def test_private_anonymous_ticket_mails_and_provider_link(api: Api, inbox: Inbox) -> None:
    _setup_routing(api)
    ids = api.world.ids
    r = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": ids["b1"], "unit_id": ids["u1"], "category_id": ids["sanitaer"],
        "title": "Water under the sink", "description": "since Sunday, bucket full daily",
        "anonymous": True})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["status"] == "approved" and r.json()["provider_id"] == ids["prov_x"]
    # A resident watcher (subscribed before; the ticket is private) must never get mail.
    api.world.conn.execute("INSERT INTO ticket_watchers (ticket_id, email, user_id, role) "
                           "VALUES (%s, 'ned@home.test', 11, 'tenant')", (tid,))
    got = inbox.take()
    # the reporter caused "created" (no mail to herself) but hears that it was assigned
    assert set(got) == {"x@provider.test", "tina@home.test"}
    subjects = [m["Subject"] for m in got["tina@home.test"]]
    assert subjects == [f"[Ticket #{tid}] Water under the sink"]
    assert "#token=" not in body(got["tina@home.test"][0])  # the link is the provider's alone
    provider_mails = got["x@provider.test"]
    assert len(provider_mails) == 2  # created + assigned
    for msg in provider_mails:
        assert "Tina" not in body(msg) and "Reported by: anonymous" in body(msg)
        assert "Water under the sink" in body(msg)
    token = _token(provider_mails[-1])

    # Internal note: staff only -> nobody on this ticket gets it.
    r = api.client.post(f"/tickets/{tid}/comments", headers=api.as_("manager"),
                        json={"body": "tenant owes two rents, owner pays", "internal": True})
    assert r.status_code == 201
    assert inbox.take() == {}
    # Public comment: reporter and provider, not the watching neighbour.
    api.client.post(f"/tickets/{tid}/comments", headers=api.as_("manager"),
                    json={"body": "plumber comes Tuesday"})
    got = inbox.take()
    assert set(got) == {"tina@home.test", "x@provider.test"}
    assert "plumber comes Tuesday" in body(got["tina@home.test"][0])
    assert "Tina Tenant" in body(got["tina@home.test"][0])  # the reporter sees herself

    # The provider works through the link, without an account.
    link = {"X-Ticket-Link": token}
    seen = api.client.get("/provider-link/ticket", headers=link)
    assert seen.status_code == 200, seen.text
    assert seen.json()["reporter_name"] is None
    assert [c["body"] for c in seen.json()["comments"]] == ["plumber comes Tuesday"]
    r = api.client.post("/provider-link/ticket/status", headers=link,
                        json={"status": "in_progress", "comment": "on site"})
    assert r.status_code == 200, r.text
    got = inbox.take()
    assert set(got) == {"tina@home.test"}
    r = api.client.post("/provider-link/ticket/comments", headers=link,
                        json={"body": "siphon replaced, seal ordered"})
    assert r.status_code == 201 and r.json()["via"] == "provider_link"
    assert set(inbox.take()) == {"tina@home.test"}
    r = api.client.post("/provider-link/ticket/comments", headers=link,
                        json={"body": "x", "internal": True})
    assert r.status_code == 403
    r = api.client.post("/provider-link/ticket/attachments", headers=link,
                        params={"filename": "invoice.pdf"}, content=b"%PDF-1.4\n%%EOF\n")
    assert r.status_code == 201 and r.json()["media_type"] == "application/pdf"
    # the reporter turns status mails off; the finish then brings only the survey
    r = api.client.put("/ticket-notification-prefs", headers=api.as_("tenant"),
                       json={"email": "tina@home.test", "event": "status", "enabled": False})
    assert r.status_code == 204
    r = api.client.post("/provider-link/ticket/status", headers=link, json={"status": "done"})
    assert r.status_code == 200
    got = inbox.take()
    assert list(got) == ["tina@home.test"] and len(got["tina@home.test"]) == 1
    assert f"https://mb.test/tickets/{tid}/survey" in body(got["tina@home.test"][0])
    # a provider may not do what managers do, even with a valid link
    r = api.client.post("/provider-link/ticket/status", headers=link, json={"status": "open"})
    assert r.status_code == 403
    everyone = {rc for rcpts, _ in inbox.everything for rc in rcpts}
    assert everyone == {"tina@home.test", "x@provider.test"}  # never ned, the watcher
    for _rcpts, msg in inbox.everything:
        assert "owes two rents" not in body(msg)


def test_provider_link_forged_expired_or_reassigned(api: Api, inbox: Inbox) -> None:
    ids = api.world.ids
    r = api.client.post("/tickets", headers=api.as_("tenant"),
                        json={"building_id": ids["b1"], "title": "Door squeaks"})
    tid = r.json()["id"]
    api.client.post(f"/tickets/{tid}/assignment", headers=api.as_("manager"),
                    json={"provider_id": ids["prov_x"]})
    token = _token(inbox.take()["x@provider.test"][0])
    assert api.client.get("/provider-link/ticket", headers={"X-Ticket-Link": token}).status_code \
        == 200
    payload, sig = token.split(".")
    forged = provider_links.issue(api.app.state.ticket_settings.link_secret, tid + 1,
                                  ids["prov_x"], api.clock.now, timedelta(hours=1))
    bad = f"{forged.split('.')[0]}.{sig}"
    assert api.client.get("/provider-link/ticket", headers={"X-Ticket-Link": bad}).status_code \
        == 401
    api.clock.advance(days=15)  # links live 14 days
    r = api.client.get("/provider-link/ticket", headers={"X-Ticket-Link": token})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    api.clock.advance(days=-15)
    api.client.post(f"/tickets/{tid}/assignment", headers=api.as_("manager"),
                    json={"provider_id": ids["prov_y"]})
    assert api.client.get("/provider-link/ticket",
                          headers={"X-Ticket-Link": token}).status_code == 404
    assert payload  # the token is opaque base64url, the secret never appears in it
    assert "s" * 40 not in token


def test_email_reply_threads_into_the_ticket(api: Api, inbox: Inbox) -> None:
    ids = api.world.ids
    tid = api.client.post("/tickets", headers=api.as_("tenant"),
                          json={"building_id": ids["b1"], "title": "Lift stuck"}).json()["id"]
    api.client.post(f"/tickets/{tid}/comments", headers=api.as_("manager"),
                    json={"body": "Which floor?"})
    sent = inbox.take()["tina@home.test"][0]
    settings = api.app.state.ticket_settings
    reply = (f"From: Tina <tina@home.test>\r\nTo: {sent['Reply-To']}\r\n"
             f"In-Reply-To: {sent['Message-ID']}\r\nSubject: Re: {sent['Subject']}\r\n\r\n"
             "Third floor, doors half open.\r\n\r\nOn Mon, 2 Mar 2026, tickets wrote:\r\n"
             "> Which floor?\r\n").encode()
    # handed over by the mail gateway (admin key); a resident may not post mail as anyone
    assert api.client.post("/ticket-mail/inbound", content=reply,
                           headers=api.as_("tenant")).status_code == 403
    r = api.client.post("/ticket-mail/inbound", content=reply, headers=api.as_("admin"))
    assert r.status_code == 201 and r.json()["body"] == "Third floor, doors half open."
    assert inbox.take() == {}  # the reply is the reporter's own: no mail back to her
    parsed = email_replies.parse_inbound(api.world.conn, settings, reply)
    assert parsed.ticket_id == tid and parsed.body == "Third floor, doors half open."
    comment, _events = service.thread_reply(api.world.conn, parsed.sender, parsed.ticket_id,
                                            parsed.body)
    assert comment.via == "email"
    detail = api.client.get(f"/tickets/{tid}", headers=api.as_("manager")).json()
    assert [(c["body"], c["via"]) for c in detail["comments"]][-1] == (
        "Third floor, doors half open.", "email")
    # threading by In-Reply-To alone (no signed address) works for ids we sent
    only_ref = reply.replace(f"To: {sent['Reply-To']}".encode(), b"To: someone@else.test")
    assert email_replies.parse_inbound(api.world.conn, settings, only_ref).ticket_id == tid
    # a stranger cannot write into the ticket
    stranger = reply.replace(b"tina@home.test", b"mallory@evil.test")
    p2 = email_replies.parse_inbound(api.world.conn, settings, stranger)
    with pytest.raises(ForbiddenError):
        service.thread_reply(api.world.conn, p2.sender, p2.ticket_id, p2.body)
    # a guessed reply address with a wrong tag and an unknown Message-ID threads nowhere
    forged = (f"From: tina@home.test\r\nTo: tickets+{tid}-AAAAAAAAAAAAAAAA@meterbill.invalid\r\n"
              "In-Reply-To: <ticket-1-deadbeef@evil.test>\r\n\r\nhello\r\n").encode()
    with pytest.raises(InvalidRequestError):
        email_replies.parse_inbound(api.world.conn, settings, forged)


def test_caretaker_routing_watchers_and_their_choices(api: Api, inbox: Inbox) -> None:
    ids = api.world.ids
    r = api.client.put(f"/properties/{ids['p1']}/ticket-routing", headers=api.as_("manager"),
                       json={"action": "assign_caretaker", "caretaker_user_id": 2,
                             "caretaker_email": "caretaker@mb.test"})
    assert r.status_code == 204, r.text
    r = api.client.put(f"/properties/{ids['p1']}/ticket-settings", headers=api.as_("tenant"),
                       json={"arrears_flag_enabled": True})
    assert r.status_code == 403
    tid = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": ids["b1"], "common_area": "entrance", "visibility": "public",
        "title": "Entrance door does not lock"}).json()["id"]
    t = api.client.get(f"/tickets/{tid}", headers=api.as_("caretaker")).json()
    assert (t["status"], t["assignee_user_id"], t["provider_id"]) == ("approved", 2, None)
    got = inbox.take()
    assert set(got) == {"caretaker@mb.test", "tina@home.test"}
    assert "#token=" not in body(got["caretaker@mb.test"][0])  # staff need no link
    # the neighbour watches the public ticket (own address only) and the board member too
    assert api.client.post(f"/tickets/{tid}/watchers", headers=api.as_("neighbour"),
                           json={"email": "someone@else.test"}).status_code == 403
    for who, email in (("neighbour", "ned@home.test"), ("board", "bo@board.test")):
        assert api.client.post(f"/tickets/{tid}/watchers", headers=api.as_(who),
                               json={"email": email}).status_code == 204
    assert api.client.post(f"/tickets/{tid}/watchers", headers=api.as_("owner_b2"),
                           json={"email": "olga@home.test"}).status_code == 404
    api.client.post(f"/tickets/{tid}/comments", headers=api.as_("caretaker"),
                    json={"body": "new lock ordered"})
    got = inbox.take()
    assert set(got) == {"tina@home.test", "ned@home.test", "bo@board.test"}
    # an internal note reaches the staff assignee only (the author is the manager)
    api.client.post(f"/tickets/{tid}/comments", headers=api.as_("manager"),
                    json={"body": "lock costs 400 EUR, owner approval pending", "internal": True})
    got = inbox.take()
    assert set(got) == {"caretaker@mb.test"}
    # the neighbour no longer wants comments
    r = api.client.put("/ticket-notification-prefs", headers=api.as_("neighbour"),
                       json={"email": "ned@home.test", "event": "comment", "enabled": False})
    assert r.status_code == 204
    api.client.post(f"/tickets/{tid}/comments", headers=api.as_("caretaker"),
                    json={"body": "lock fitted"})
    assert set(inbox.take()) == {"tina@home.test", "bo@board.test"}
    with_note = [rcpts for rcpts, msg in inbox.everything if "400 EUR" in body(msg)]
    assert with_note == [["caretaker@mb.test"]]
