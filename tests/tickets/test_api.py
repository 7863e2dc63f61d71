"""The ticket routes end to end: validation, answers per role, duplicates, merge, survey."""

from __future__ import annotations

from datetime import date

from fastapi.routing import APIRoute

from api.auth.principal import Assignment, Principal
from api.deps import StaffUser
from api.tickets.actor import Grant
from api.tickets.router import (
    actor_from_principal,
    provider_link_actor,
    provider_link_router,
    router,
    ticket_actor,
)
from tests.tickets.conftest import Api, World


def _dependency_calls(dependant) -> set[object]:
    out: set[object] = set()
    for dep in dependant.dependencies:
        out.add(dep.call)
        out |= _dependency_calls(dep)
    return out


def test_every_ticket_route_has_an_identity_dependency() -> None:
    staff_call = StaffUser.__metadata__[0].dependency  # type: ignore[attr-defined]
    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 15
    for route in routes:
        calls = _dependency_calls(route.dependant)
        assert ticket_actor in calls and staff_call in calls, route.path
    for route in provider_link_router.routes:
        assert isinstance(route, APIRoute)
        assert provider_link_actor in _dependency_calls(route.dependant), route.path


def test_adapter_reads_token_and_scoped_principals(world: World) -> None:
    old_style = type("P", (), {"name": "staff-token", "role": "property_manager"})()
    actor = actor_from_principal(world.conn, old_style)
    assert actor.grants == (Grant("property_manager"),) and actor.user_id is None
    world.conn.execute("INSERT INTO ticket_provider_users (provider_id, user_id) VALUES (%s, 77)",
                       (world.ids["prov_x"],))
    p = Principal(kind="user", id=77, label="Xaver", assignments=(
        Assignment("service_provider", world.ids["p1"], None, None, date(2020, 1, 1), None),
        Assignment("advisory_board_member", None, world.ids["b1"], None, date(2020, 1, 1), None),
        Assignment("tenant", None, None, world.ids["u1"], date(2020, 1, 1), date(2021, 1, 1)),
    ))
    actor = actor_from_principal(world.conn, p)
    assert actor.user_id == 77 and actor.provider_id == world.ids["prov_x"]
    assert actor.grants == (Grant("service_provider", "property", world.ids["p1"]),
                            Grant("advisory_board", "building", world.ids["b1"]))  # past: gone


def test_inputs_refuse_unknown_fields_and_bad_values(api: Api) -> None:
    r = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b1"], "title": "x", "priorty": "high"})
    assert r.status_code == 422 and r.json()["field"] == "body.priorty"
    r = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b1"], "title": "x", "unit_id": api.world.ids["u3"]})
    assert r.status_code == 422 and r.json()["field"] == "unit_id"
    r = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b3"], "title": "not my building"})
    assert r.status_code == 404
    r = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b1"], "title": "x", "reporter_email": "victim@else.test"})
    assert r.status_code == 403 and r.json()["field"] == "reporter_email"
    r = api.client.post("/tickets", headers=api.as_("manager"), json={
        "building_id": api.world.ids["b1"], "title": "called in", "reporter_email": "ned@x.test"})
    assert r.status_code == 201


def test_status_answers_over_http(api: Api) -> None:
    tid = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b1"], "title": "Bell broken"}).json()["id"]
    r = api.client.post(f"/tickets/{tid}/status", headers=api.as_("tenant"),
                        json={"status": "approved"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = api.client.post(f"/tickets/{tid}/status", headers=api.as_("manager"),
                        json={"status": "done"})
    assert r.status_code == 409
    assert r.json()["detail"] == ("cannot move a ticket from open to done; allowed next states: "
                                  "approved, rejected, waiting")
    r = api.client.post(f"/tickets/{tid}/status", headers=api.as_("manager"),
                        json={"status": "approved", "comment": "ok"})
    assert r.status_code == 200
    assert r.json()["status_label_de"] == "Freigegeben"
    assert r.json()["next_states"] == ["open", "in_progress", "rejected", "waiting"]
    assert api.client.get(f"/tickets/{tid}", headers=api.as_("neighbour")).status_code == 404
    assert api.client.get("/tickets/999999999999", headers=api.as_("admin")).status_code == 404


def test_duplicate_hint_respects_visibility_and_merge(api: Api) -> None:
    ids = api.world.ids
    first = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": ids["b1"], "common_area": "staircase", "visibility": "public",
        "title": "Lift stuck between floors", "description": "2nd floor"}).json()["id"]
    private = api.client.post("/tickets", headers=api.as_("board"), json={
        "building_id": ids["b1"], "common_area": "staircase",
        "title": "Lift stuck between floors again"}).json()["id"]
    r = api.client.post("/tickets", headers=api.as_("neighbour"), json={
        "building_id": ids["b1"], "common_area": "Staircase", "visibility": "public",
        "title": "The lift is stuck", "description": "between floors"})
    second = r.json()["id"]
    assert r.json()["similar_open_tickets"] == [first]  # the board's private one stays hidden
    other_place = api.client.post("/tickets", headers=api.as_("manager"), json={
        "building_id": ids["b1"], "common_area": "garage", "title": "Lift stuck"}).json()
    assert other_place["similar_open_tickets"] == []
    staff = api.client.post("/tickets", headers=api.as_("manager"), json={
        "building_id": ids["b1"], "common_area": "staircase", "title": "lift stuck"}).json()
    assert set(staff["similar_open_tickets"]) == {first, private, second}
    r = api.client.post(f"/tickets/{second}/merge", headers=api.as_("neighbour"),
                        json={"into_ticket_id": first})
    assert r.status_code == 403
    r = api.client.post(f"/tickets/{second}/merge", headers=api.as_("manager"),
                        json={"into_ticket_id": first})
    assert r.status_code == 200, r.text
    merged = api.client.get(f"/tickets/{second}", headers=api.as_("neighbour")).json()
    assert merged["status"] == "rejected" and merged["merged_into"] == first
    watchers = api.world.conn.execute("SELECT email FROM ticket_watchers WHERE ticket_id = %s",
                                      (first,)).fetchall()
    assert watchers == [("ned@home.test",)]
    r = api.client.post(f"/tickets/{second}/merge", headers=api.as_("manager"),
                        json={"into_ticket_id": first})
    assert r.status_code == 409


def test_survey_after_done_by_the_reporter_once(api: Api) -> None:
    tid = api.client.post("/tickets", headers=api.as_("tenant"), json={
        "building_id": api.world.ids["b1"], "title": "Window leaks"}).json()["id"]
    r = api.client.post(f"/tickets/{tid}/survey", headers=api.as_("tenant"), json={"rating": 5})
    assert r.status_code == 409
    for status in ("approved", "in_progress", "done"):
        api.client.post(f"/tickets/{tid}/status", headers=api.as_("manager"),
                        json={"status": status})
    assert api.client.post(f"/tickets/{tid}/survey", headers=api.as_("manager"),
                           json={"rating": 5}).status_code == 403
    assert api.client.post(f"/tickets/{tid}/survey", headers=api.as_("tenant"),
                           json={"rating": 6}).status_code == 422
    r = api.client.post(f"/tickets/{tid}/survey", headers=api.as_("tenant"),
                        json={"rating": 4, "comment": "quick, but muddy boots"})
    assert r.status_code == 201 and r.json()["rating"] == 4
    assert api.client.post(f"/tickets/{tid}/survey", headers=api.as_("tenant"),
                           json={"rating": 1}).status_code == 409
    metrics = api.client.get(f"/properties/{api.world.ids['p1']}/ticket-metrics",
                             headers=api.as_("manager")).json()
    assert metrics["satisfaction"][0]["ratings"] == 1
    assert api.client.get(f"/properties/{api.world.ids['p1']}/ticket-metrics",
                          headers=api.as_("tenant")).status_code == 403
