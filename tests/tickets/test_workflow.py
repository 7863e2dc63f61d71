"""Every transition for every role, allowed and refused, through the service."""

from __future__ import annotations

import psycopg
import pytest

from api.errors import ConflictError, ForbiddenError, NotFoundError
from api.tickets import service, workflow
from api.tickets.schemas import TicketCreate
from tests.tickets.conftest import T0, FakeClock, World

# Who may make which move, written out by hand from the issue (not derived from the table).
MANAGERS = {"admin", "manager"}
WORKERS = {"admin", "manager", "caretaker", "provider"}
EXPECTED = {
    ("open", "approved"): MANAGERS,
    ("open", "rejected"): MANAGERS,
    ("open", "waiting"): MANAGERS | {"caretaker"},
    ("approved", "in_progress"): WORKERS,
    ("approved", "waiting"): WORKERS,
    ("approved", "rejected"): MANAGERS,
    ("approved", "open"): MANAGERS,
    ("in_progress", "done"): WORKERS,
    ("in_progress", "waiting"): WORKERS,
    ("waiting", "open"): MANAGERS,
    ("waiting", "approved"): MANAGERS,
    ("waiting", "in_progress"): WORKERS,
    ("waiting", "rejected"): MANAGERS,
    ("rejected", "open"): MANAGERS,
    ("done", "open"): MANAGERS,
    ("done", "in_progress"): MANAGERS,
}
# Roles that see the (private, assigned to provider X) ticket but move nothing.
SEE_ONLY = {"tenant", "board"}
# Roles that do not see it at all: 404 whatever they try.
BLIND = {"neighbour", "owner_b2", "other_provider", "accountant", "foreign_manager"}


def test_transition_table_is_the_issue_table() -> None:
    assert set(workflow.TRANSITIONS) == set(EXPECTED)


@pytest.fixture
def ticket_id(world: World) -> int:
    t, _ = service.create_ticket(world.conn, world.actors["tenant"], TicketCreate(
        building_id=world.ids["b1"], unit_id=world.ids["u1"], title="Tap drips",
        description="kitchen tap"), clock=FakeClock())
    world.conn.execute("UPDATE tickets SET provider_id = %s WHERE id = %s",
                       (world.ids["prov_x"], t.id))
    return t.id


def _set_status(world: World, ticket_id: int, status: str) -> None:
    world.conn.execute("UPDATE tickets SET status = %s WHERE id = %s", (status, ticket_id))


def test_every_transition_for_every_role(world: World, ticket_id: int) -> None:
    clock = FakeClock(T0)
    outcomes: dict[str, int] = {"ok": 0, "403": 0, "409": 0, "404": 0}
    for current in workflow.STATUSES:
        for target in workflow.STATUSES:
            if current == target:
                continue
            for name in sorted(world.actors):
                _set_status(world, ticket_id, current)
                actor = world.actors[name]
                allowed = EXPECTED.get((current, target))
                clock.advance(minutes=1)
                if name in BLIND:
                    with pytest.raises(NotFoundError):
                        service.change_status(world.conn, actor, ticket_id, target, clock=clock)
                    outcomes["404"] += 1
                elif allowed is None:
                    with pytest.raises(ConflictError) as exc:
                        service.change_status(world.conn, actor, ticket_id, target, clock=clock)
                    # the answer names the moves this caller could make instead
                    mine = [to for (frm, to), who in EXPECTED.items()
                            if frm == current and name in who]
                    ordered = [s for s in workflow.STATUSES if s in mine]
                    assert exc.value.detail.endswith(", ".join(ordered) or "none"), (
                        current, target, name, exc.value.detail)
                    outcomes["409"] += 1
                elif name in allowed:
                    ticket, events = service.change_status(world.conn, actor, ticket_id, target,
                                                           "ok", clock=clock)
                    assert ticket.status == target
                    last = world.conn.execute(
                        "SELECT from_status, to_status, actor_user_id, at FROM ticket_history "
                        "WHERE ticket_id = %s AND kind = 'status' ORDER BY id DESC LIMIT 1",
                        (ticket_id,)).fetchone()
                    assert last == (current, target, actor.user_id, clock.now)
                    assert events[0].kind == "status"
                    outcomes["ok"] += 1
                else:
                    assert name in SEE_ONLY or name in WORKERS | MANAGERS
                    with pytest.raises(ForbiddenError):
                        service.change_status(world.conn, actor, ticket_id, target, clock=clock)
                    outcomes["403"] += 1
    assert outcomes["ok"] == sum(len(v) for v in EXPECTED.values())
    assert outcomes["403"] > 0 and outcomes["409"] > 0 and outcomes["404"] > 0


def test_tenant_cannot_approve_gets_403_naming_no_moves(world: World, ticket_id: int) -> None:
    with pytest.raises(ForbiddenError) as exc:
        service.change_status(world.conn, world.actors["tenant"], ticket_id, "approved")
    assert "allowed next states for you: none" in exc.value.detail


def test_provider_not_assigned_any_more_loses_the_ticket(world: World, ticket_id: int) -> None:
    _set_status(world, ticket_id, "approved")
    world.conn.execute("UPDATE tickets SET provider_id = %s WHERE id = %s",
                       (world.ids["prov_y"], ticket_id))
    with pytest.raises(NotFoundError):
        service.change_status(world.conn, world.actors["provider"], ticket_id, "in_progress")
    t, _ = service.change_status(world.conn, world.actors["other_provider"], ticket_id,
                                 "in_progress")
    assert t.status == "in_progress"


def test_history_records_who_when_from_to_comment(world: World, ticket_id: int) -> None:
    clock = FakeClock(T0)
    service.change_status(world.conn, world.actors["manager"], ticket_id, "approved",
                          "go ahead", clock=clock)
    detail = service.get_ticket(world.conn, world.actors["manager"], ticket_id)
    status_rows = [(h.kind, h.actor, h.from_status, h.to_status, h.comment, h.at)
                   for h in detail.history if h.kind in ("created", "status")]
    assert status_rows[-1] == ("status", "Mia Manager", "open", "approved", "go ahead", T0)
    assert status_rows[0][0] == "created" and status_rows[0][3] == "open"


def test_history_is_append_only(world: World, ticket_id: int) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        world.conn.execute("UPDATE ticket_history SET comment = 'rewritten' WHERE ticket_id = %s",
                           (ticket_id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        world.conn.execute("DELETE FROM ticket_history WHERE ticket_id = %s", (ticket_id,))
