"""Who sees private, public and anonymous tickets, and whose name they see."""

from __future__ import annotations

import pytest

from api.errors import ForbiddenError, NotFoundError
from api.tickets import service
from api.tickets.schemas import TicketCreate
from tests.tickets.conftest import World

# role -> (sees private, sees public)
EXPECTED = {
    "admin": (True, True),
    "manager": (True, True),
    "caretaker": (True, True),
    "tenant": (True, True),         # the reporter
    "neighbour": (False, True),     # same building
    "owner_b2": (False, False),     # other building of the same property
    "board": (True, True),          # advisory board: all of the building
    "provider": (True, True),       # assigned
    "other_provider": (False, False),
    "accountant": (False, False),
    "foreign_manager": (False, False),
}
SEES_ANONYMOUS_REPORTER = {"admin", "manager", "caretaker", "tenant"}


def _ticket(world: World, visibility: str, anonymous: bool = False) -> int:
    t, _ = service.create_ticket(world.conn, world.actors["tenant"], TicketCreate(
        building_id=world.ids["b1"], common_area=None if visibility == "private" else "entrance",
        unit_id=world.ids["u1"] if visibility == "private" else None,
        title=f"{visibility} problem", visibility=visibility, anonymous=anonymous))
    world.conn.execute("UPDATE tickets SET provider_id = %s WHERE id = %s",
                       (world.ids["prov_x"], t.id))
    return t.id


@pytest.mark.parametrize("visibility", ["private", "public"])
def test_visibility_for_each_role(world: World, visibility: str) -> None:
    tid = _ticket(world, visibility)
    for name, (private, public) in EXPECTED.items():
        expected = private if visibility == "private" else public
        actor = world.actors[name]
        listed = [t.id for t in service.list_tickets(world.conn, actor,
                                                      building_id=world.ids["b1"])]
        if expected:
            assert service.get_ticket(world.conn, actor, tid).id == tid, name
            assert listed == [tid], name
        else:
            with pytest.raises(NotFoundError):
                service.get_ticket(world.conn, actor, tid)
            assert listed == [], name


def test_anonymous_reporter_hidden_from_provider_and_residents(world: World) -> None:
    tid = _ticket(world, "public", anonymous=True)
    service.add_comment(world.conn, world.actors["tenant"], tid, "it got worse")
    for name, (_private, public) in EXPECTED.items():
        if not public:
            continue
        t = service.get_ticket(world.conn, world.actors[name], tid)
        shown = name in SEES_ANONYMOUS_REPORTER
        assert (t.reporter_name == "Tina Tenant") is shown, name
        assert (t.reporter_user_id == 10) is shown, name
        assert t.reporter_name is None or shown
        authors = {c.author for c in t.comments} | {h.actor for h in t.history
                                                    if h.kind in ("created", "comment")}
        assert ("Tina Tenant" in authors) is shown, (name, authors)


def test_internal_notes_only_for_staff(world: World) -> None:
    tid = _ticket(world, "public")
    service.add_comment(world.conn, world.actors["manager"], tid, "owner pays", internal=True)
    service.add_comment(world.conn, world.actors["manager"], tid, "we sent someone")
    for name in ("admin", "manager", "caretaker"):
        bodies = [c.body for c in service.get_ticket(world.conn, world.actors[name], tid).comments]
        assert bodies == ["owner pays", "we sent someone"], name
    for name in ("tenant", "neighbour", "board", "provider"):
        bodies = [c.body for c in service.get_ticket(world.conn, world.actors[name], tid).comments]
        assert bodies == ["we sent someone"], name
        with pytest.raises(ForbiddenError):
            service.add_comment(world.conn, world.actors[name], tid, "x", internal=True)


def test_visible_but_not_allowed_is_403(world: World) -> None:
    tid = _ticket(world, "public")
    for name in ("neighbour", "board"):  # they read it, they may not comment or assign
        with pytest.raises(ForbiddenError):
            service.add_comment(world.conn, world.actors[name], tid, "me too")
    service.add_comment(world.conn, world.actors["provider"], tid, "on my way")


def test_arrears_flag_is_for_staff_only_and_off_by_default(world: World) -> None:
    always = lambda conn, actor, building_id: True  # noqa: E731
    data = TicketCreate(building_id=world.ids["b1"], title="Heating cold")
    t, _ = service.create_ticket(world.conn, world.actors["tenant"], data, arrears_lookup=always)
    assert service.get_ticket(world.conn, world.actors["manager"], t.id).arrears_flag is False
    world.conn.execute("INSERT INTO ticket_property_settings (property_id, arrears_flag_enabled) "
                       "VALUES (%s, true)", (world.ids["p1"],))
    t2, _ = service.create_ticket(world.conn, world.actors["tenant"], data, arrears_lookup=always)
    assert t2.status == "open"  # flagged, never refused
    assert service.get_ticket(world.conn, world.actors["manager"], t2.id).arrears_flag is True
    assert service.get_ticket(world.conn, world.actors["tenant"], t2.id).arrears_flag is None


def test_categories_default_general_per_property(world: World) -> None:
    cats = service.list_categories(world.conn, world.actors["tenant"], world.ids["p1"])
    assert [c.name for c in cats] == ["General"]
    service.create_category(world.conn, world.actors["manager"], world.ids["p1"], "Lift")
    with pytest.raises(ForbiddenError):
        service.create_category(world.conn, world.actors["tenant"], world.ids["p1"], "Mine")
    with pytest.raises(NotFoundError):
        service.create_category(world.conn, world.actors["foreign_manager"], world.ids["p1"], "X")
    names = [c.name for c in service.list_categories(world.conn, world.actors["manager"],
                                                      world.ids["p1"])]
    assert names == ["General", "Lift"]
    t, _ = service.create_ticket(world.conn, world.actors["tenant"], TicketCreate(
        building_id=world.ids["b1"], title="x"))
    assert t.category == "General"
