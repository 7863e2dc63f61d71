"""SLA: the clock pauses while waiting, stops when closed; breaches escalate once, by mail."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from api.tickets import service, sla
from api.tickets.notifications import send
from api.tickets.schemas import TicketCreate
from api.tickets.settings import TicketSettings
from tests.tickets.conftest import T0, FakeClock, World
from tests.tickets.smtp_sink import body, smtp_inbox

H = timedelta(hours=1)


def test_active_time_pauses_in_waiting_and_stops_when_done() -> None:
    transitions = [(T0 + 1 * H, "approved"), (T0 + 2 * H, "waiting"),
                   (T0 + 10 * H, "in_progress"), (T0 + 12 * H, "done")]
    # 0-2 h running, 2-10 h paused, 10-12 h running, then stopped
    assert sla.active_time(T0, transitions, T0 + 50 * H) == 4 * H
    assert sla.active_time(T0, transitions, T0 + 5 * H) == 2 * H  # inside the pause
    assert sla.active_time(T0, transitions, T0 + 11 * H) == 3 * H
    assert sla.active_time(T0, [], T0 + 3 * H) == 3 * H


def test_evaluate_breaches_per_policy() -> None:
    policy = sla.SlaPolicy(first_response=timedelta(hours=4), resolution=timedelta(hours=24))
    waiting = [(T0 + 1 * H, "waiting")]
    state = sla.evaluate(policy, T0, waiting, T0 + 1 * H, T0 + 100 * H)
    assert state.paused and not state.resolution_breached and not state.first_response_breached
    assert state.first_response_elapsed == 1 * H and state.resolution_elapsed == 1 * H
    late = sla.evaluate(policy, T0, [], None, T0 + 5 * H)
    assert late.first_response_breached and not late.resolution_breached


def test_escalation_with_injected_clock(world: World) -> None:
    with smtp_inbox() as inbox:
        settings = TicketSettings(link_secret=SecretStr("k" * 40), smtp_port=inbox.port)
        conn = world.conn
        conn.execute("INSERT INTO ticket_property_settings (property_id, manager_email) "
                     "VALUES (%s, 'escalate@mb.test')", (world.ids["p1"],))
        clock = FakeClock(T0)
        # urgent: first response 1 h, resolution 24 h (default policy)
        t, _ = service.create_ticket(conn, world.actors["tenant"], TicketCreate(
            building_id=world.ids["b1"], title="Lift stuck with person inside",
            priority="urgent", visibility="public"), clock=clock)
        clock.advance(minutes=30)
        service.change_status(conn, world.actors["manager"], t.id, "waiting",
                              "fire brigade on site?", clock=clock)  # first response at 30 min
        clock.advance(hours=100)  # paused: no breach however long
        assert service.escalate_breaches(conn, clock=clock, property_id=world.ids["p1"]) == []
        service.change_status(conn, world.actors["manager"], t.id, "approved", clock=clock)
        clock.advance(hours=23)  # 23.5 h running
        assert service.escalate_breaches(conn, clock=clock, property_id=world.ids["p1"]) == []
        clock.advance(hours=1)  # 24.5 h running -> resolution breached
        events = service.escalate_breaches(conn, clock=clock, property_id=world.ids["p1"])
        assert [(e.ticket_id, e.kind) for e in events] == [(t.id, "escalated")]
        again = service.escalate_breaches(conn, clock=clock, property_id=world.ids["p1"])
        assert again == []  # once per kind
        mails = service.mails_for(conn, settings, events, clock=clock)
        assert send(settings, mails, clock()) == []
        got = inbox.take()
        assert list(got) == ["escalate@mb.test"]
        assert "resolution time was exceeded" in body(got["escalate@mb.test"][0])
        row = conn.execute("SELECT kind, escalated_at FROM ticket_escalations "
                           "WHERE ticket_id = %s", (t.id,)).fetchall()
        assert row == [("resolution", clock.now)]
        # a done ticket keeps the verdict for the metrics
        service.change_status(conn, world.actors["manager"], t.id, "in_progress", clock=clock)
        service.change_status(conn, world.actors["manager"], t.id, "done", clock=clock)
        flags = conn.execute("SELECT first_response_breached, resolution_breached FROM tickets "
                             "WHERE id = %s", (t.id,)).fetchone()
        assert flags == (False, True)


def test_first_response_breach_escalates(world: World) -> None:
    clock = FakeClock(T0)
    t, _ = service.create_ticket(world.conn, world.actors["tenant"], TicketCreate(
        building_id=world.ids["b1"], title="No hot water", priority="high"), clock=clock)
    clock.advance(hours=3, minutes=59)
    assert service.escalate_breaches(world.conn, clock=clock,
                                      property_id=world.ids["p1"]) == []
    clock.advance(minutes=2)  # high: first response within 4 h
    assert len(service.escalate_breaches(world.conn, clock=clock,
                                      property_id=world.ids["p1"])) == 1
    kinds = world.conn.execute("SELECT kind FROM ticket_escalations WHERE ticket_id = %s",
                               (t.id,)).fetchall()
    assert kinds == [("first_response",)]


def test_escalation_job_mails_the_manager_once(world: World) -> None:
    from api.tickets.escalation_job import run_escalations

    with smtp_inbox() as inbox:
        settings = TicketSettings(link_secret=SecretStr("k" * 40), smtp_port=inbox.port)
        conn = world.conn
        conn.execute("INSERT INTO ticket_property_settings (property_id, manager_email) "
                     "VALUES (%s, 'cron@mb.test')", (world.ids["p1"],))
        clock = FakeClock(T0)
        service.create_ticket(conn, world.actors["tenant"], TicketCreate(
            building_id=world.ids["b1"], title="No hot water", priority="urgent"), clock=clock)
        clock.advance(hours=2)  # urgent: first response due within 1 h
        run = run_escalations(conn, settings, clock=clock, property_id=world.ids["p1"])
        assert (run.escalated, run.mails_sent, run.mails_failed) == (1, 1, 0)
        assert list(inbox.take()) == ["cron@mb.test"]
        again = run_escalations(conn, settings, clock=clock, property_id=world.ids["p1"])
        assert (again.escalated, again.mails_sent) == (0, 0)
