"""Metrics from a seeded history, against figures worked out by hand (in the comments)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from api.tickets import service
from api.tickets.schemas import AssignmentUpdate, TicketCreate
from tests.tickets.conftest import T0, FakeClock, World

H = timedelta(hours=1)
M = timedelta(minutes=1)


def test_metrics_on_a_seeded_history(world: World) -> None:
    conn, a, ids = world.conn, world.actors, world.ids
    clock = FakeClock()
    lift = service.create_category(conn, a["manager"], ids["p1"], "Lift").id
    # property's own 'low' policy: first response 60 min, resolution 5 h
    conn.execute("INSERT INTO ticket_sla_policies (property_id, priority, first_response_minutes, "
                 "resolution_minutes) VALUES (%s, 'low', 60, 300)", (ids["p1"],))

    def at(delta: timedelta) -> FakeClock:
        clock.now = T0 + delta
        return clock

    def new(actor: str, building: str, title: str, delta: timedelta, category: int | None = None,
            priority: str = "normal") -> int:
        t, _ = service.create_ticket(conn, a[actor], TicketCreate(
            building_id=ids[building], title=title, category_id=category, priority=priority),
            clock=at(delta))
        return t.id

    def move(actor: str, tid: int, status: str, delta: timedelta) -> None:
        service.change_status(conn, a[actor], tid, status, clock=at(delta))

    def give(tid: int, provider: str, delta: timedelta) -> None:
        service.assign(conn, a["manager"], tid, AssignmentUpdate(provider_id=ids[provider]),
                       clock=at(delta))

    # T1 General, b1, provider X, low: created 0h, approved 1h, done 10h -> TTR 10 h, FR 1 h
    t1 = new("tenant", "b1", "Tap drips", 0 * H, priority="low")
    give(t1, "prov_x", 0 * H + M)  # an assignment is not a response
    move("manager", t1, "approved", 1 * H)
    move("provider", t1, "in_progress", 3 * H)
    move("provider", t1, "done", 10 * H)  # 10 h > 5 h: resolution breached
    # T2 Lift, b1, provider Y, urgent: created 2h, comment 4h -> FR 2 h (> 1 h: breached);
    # waiting 8h..20h pauses; done 26h -> TTR 24 h, SLA time 12 h (<= 24 h)
    t2 = new("neighbour", "b1", "Lift noisy", 2 * H, lift, "urgent")
    service.add_comment(conn, a["manager"], t2, "since when?", clock=at(4 * H))
    give(t2, "prov_y", 4 * H + M)
    move("manager", t2, "approved", 5 * H)
    move("other_provider", t2, "in_progress", 6 * H)
    move("other_provider", t2, "waiting", 8 * H)
    move("other_provider", t2, "in_progress", 20 * H)
    move("other_provider", t2, "done", 26 * H)
    # T3 General, b2, provider X: created 1h, approved 1h30 -> FR 30 min; done 5h, reopened 6h,
    # done again 9h -> TTR counts to the last done: 8 h
    t3 = new("owner_b2", "b2", "Light in cellar", 1 * H)
    give(t3, "prov_x", 1 * H + M)
    move("manager", t3, "approved", 1 * H + 30 * M)
    move("provider", t3, "in_progress", 2 * H)
    move("provider", t3, "done", 5 * H)
    move("manager", t3, "open", 6 * H)
    move("manager", t3, "approved", 7 * H)
    move("provider", t3, "in_progress", 8 * H)
    move("provider", t3, "done", 9 * H)
    # T4 General, b1: created 10 days before T0, never answered (backlog 7-30 d)
    new("tenant", "b1", "Mailbox broken", -240 * H)
    # T5 Lift, b2, provider X: created 3h, approved 9h -> FR 6 h; open assignment of X
    t5 = new("owner_b2", "b2", "Lift button", 3 * H, lift)
    give(t5, "prov_x", 3 * H + M)
    move("manager", t5, "approved", 9 * H)
    # ratings: T1 4, T2 2, T3 5
    for tid, actor, rating in ((t1, "tenant", 4), (t2, "neighbour", 2), (t3, "owner_b2", 5)):
        service.submit_survey(conn, a[actor], tid, rating, "", clock=at(30 * H))

    def table(rows: list[dict]) -> dict:
        return {r["key"]: (r["tickets"], r["mean_s"]) for r in rows}

    now = T0 + 48 * H
    by_cat = service.dashboard(conn, a["manager"], ids["p1"], "category", now)
    general = service.ensure_default_category(conn, ids["p1"])
    # General: (10 h + 8 h) / 2 = 9 h = 32400 s; Lift: 24 h = 86400 s
    assert table(by_cat["mttr"]) == {general: (2, 32400), lift: (1, 86400)}
    # First response General: (1 h + 30 min) / 2 = 45 min = 2700 s (T4 has none);
    # Lift: (2 h + 6 h) / 2 = 4 h = 14400 s
    assert table(by_cat["first_response"]) == {general: (2, 2700), lift: (2, 14400)}
    by_provider = service.dashboard(conn, a["manager"], ids["p1"], "provider", now)
    assert table(by_provider["mttr"]) == {ids["prov_x"]: (2, 32400), ids["prov_y"]: (1, 86400)}
    by_building = service.dashboard(conn, a["manager"], ids["p1"], "building", now)
    # b1: (10 h + 24 h) / 2 = 17 h = 61200 s; b2: 8 h = 28800 s
    assert table(by_building["mttr"]) == {ids["b1"]: (2, 61200), ids["b2"]: (1, 28800)}
    # backlog at 48 h: T4 is 10 d 2 h old, T5 45 h old
    assert by_cat["backlog_by_age"] == {"under_1d": 0, "1d_to_7d": 1, "7d_to_30d": 1,
                                        "over_30d": 0}
    # done: T1 (resolution breached), T2 (first response breached), T3 (none)
    assert by_cat["sla"] == {"done_tickets": 3, "resolution_breached": 1,
                             "first_response_breached": 1, "open_escalated": 0,
                             "resolution_breach_rate": 0.3333}
    load = {r["provider_id"]: (r["open_assignments"], r["ratings"], r["mean_rating"])
            for r in by_cat["provider_load"]}
    # X: T5 open; ratings 4 and 5 -> 4.5.  Y: nothing open; rating 2.
    assert load == {ids["prov_x"]: (1, 2, Decimal("4.50")), ids["prov_y"]: (0, 1, Decimal("2.00"))}
    sat = {r["key"]: (r["ratings"], r["mean_rating"]) for r in by_cat["satisfaction"]}
    assert sat == {general: (2, Decimal("4.50")), lift: (1, Decimal("2.00"))}
