"""A small world for ticket tests: two properties, three buildings, people in every role.

Identity (issue 10) is stood in for by explicit :class:`Actor` objects; API tests
pick one per request with the ``X-Test-Actor`` header through a dependency
override of ``ticket_actor`` (the adapter from the real principal is tested apart).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from pydantic import SecretStr

from api import deps, problems
from api.tickets.actor import Actor, Grant
from api.tickets.router import provider_link_router, router, ticket_actor
from api.tickets.settings import TicketSettings
from tests.db_fixtures import create_database, drop_database, unique_name

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC


class FakeClock:
    """Injected time: tests move it forward explicitly, nothing sleeps."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class World:
    conn: psycopg.Connection
    ids: dict[str, int]
    actors: dict[str, Actor] = field(default_factory=dict)


def _one(conn: psycopg.Connection, sql: str, params: tuple = ()) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def seed(conn: psycopg.Connection) -> World:
    """A fresh world with its own properties (unique codes), so tests can share a database."""
    ids: dict[str, int] = {}
    tag = uuid.uuid4().hex[:10]
    ids["p1"] = _one(conn, "INSERT INTO properties (code, name) VALUES (%s, 'Lindenhof') "
                           "RETURNING id", (f"P1-{tag}",))
    ids["p2"] = _one(conn, "INSERT INTO properties (code, name) VALUES (%s, 'Elsewhere') "
                           "RETURNING id", (f"P2-{tag}",))
    for name, prop in (("b1", "p1"), ("b2", "p1"), ("b3", "p2")):
        ids[name] = _one(conn, "INSERT INTO buildings (property_id, code, name) "
                               "VALUES (%s, %s, %s) RETURNING id",
                         (ids[prop], name.upper(), f"Haus {name.upper()}"))
    for name, bld in (("u1", "b1"), ("u2", "b1"), ("u3", "b2"), ("u4", "b3")):
        ids[name] = _one(conn, "INSERT INTO units (building_id, code, living_area_m2, "
                               "heated_area_m2) VALUES (%s, %s, 60, 60) RETURNING id",
                         (ids[bld], name.upper()))
    ids["prov_x"] = _one(conn, "INSERT INTO ticket_providers (property_id, name, email) "
                               "VALUES (%s, 'Sanitär X', 'x@provider.test') RETURNING id",
                         (ids["p1"],))
    ids["prov_y"] = _one(conn, "INSERT INTO ticket_providers (property_id, name, email) "
                               "VALUES (%s, 'Lift Y', 'y@provider.test') RETURNING id",
                         (ids["p1"],))
    w = World(conn, ids)
    w.actors = {
        "admin": Actor(900, (Grant("admin"),), name="Ada Admin", email="admin@mb.test"),
        "manager": Actor(1, (Grant("property_manager", "property", ids["p1"]),),
                         name="Mia Manager", email="manager@mb.test"),
        "caretaker": Actor(2, (Grant("caretaker", "building", ids["b1"]),),
                           name="Carl Caretaker", email="caretaker@mb.test"),
        "provider": Actor(3, (Grant("service_provider", "property", ids["p1"]),),
                          name="Sanitär X", email="x@provider.test", provider_id=ids["prov_x"]),
        "other_provider": Actor(4, (Grant("service_provider", "property", ids["p1"]),),
                                name="Lift Y", email="y@provider.test",
                                provider_id=ids["prov_y"]),
        "tenant": Actor(10, (Grant("tenant", "unit", ids["u1"]),), name="Tina Tenant",
                        email="tina@home.test"),
        "neighbour": Actor(11, (Grant("tenant", "unit", ids["u2"]),), name="Ned Neighbour",
                           email="ned@home.test"),
        "owner_b2": Actor(12, (Grant("owner", "unit", ids["u3"]),), name="Olga Owner",
                          email="olga@home.test"),
        "board": Actor(20, (Grant("advisory_board", "building", ids["b1"]),), name="Bo Board",
                       email="bo@board.test"),
        "accountant": Actor(30, (Grant("accountant", "property", ids["p1"]),), name="Acc",
                            email="acc@mb.test"),
        "foreign_manager": Actor(40, (Grant("property_manager", "property", ids["p2"]),),
                                 name="Fred Foreign", email="fred@mb.test"),
    }
    return w


@pytest.fixture(scope="session")
def tickets_dsn(migrated_template: str) -> Iterator[str]:
    """One migrated database for the ticket tests; each test seeds a world of its own in it.

    Creating and dropping a database per test dominated the run time, and the
    ticket tests never look beyond their own properties.
    """
    name = unique_name("mbtickets")
    dsn = create_database(name, template=migrated_template)
    yield dsn
    drop_database(name)


@pytest.fixture
def tickets_conn(tickets_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(tickets_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def world(tickets_conn: psycopg.Connection) -> World:
    return seed(tickets_conn)


@pytest.fixture
def settings(tmp_path: Path) -> TicketSettings:
    return TicketSettings(data_dir=tmp_path / "data", link_secret=SecretStr("s" * 40),
                          smtp_host="127.0.0.1", smtp_port=1, public_base_url="https://mb.test",
                          max_image_bytes=2_000_000, max_document_bytes=1_000_000)


@dataclass
class Api:
    client: TestClient
    world: World
    clock: FakeClock
    app: FastAPI

    def as_(self, actor: str) -> dict[str, str]:
        return {"X-Test-Actor": actor}


def build_app(dsn: str, world: World, settings: TicketSettings,
              clock: FakeClock) -> tuple[FastAPI, ConnectionPool]:
    pool = ConnectionPool(dsn, min_size=1, max_size=4, open=True, kwargs={"autocommit": True})
    app = FastAPI()
    problems.install(app)
    app.include_router(router)
    app.include_router(provider_link_router)
    app.state.pool = pool
    app.state.ticket_settings = settings
    app.state.ticket_clock = clock

    def conn_override() -> Iterator[psycopg.Connection]:
        with pool.connection() as conn:
            yield conn

    def actor_override(request: Request) -> Actor:
        return world.actors[request.headers["X-Test-Actor"]]

    app.dependency_overrides[deps.get_conn] = conn_override
    app.dependency_overrides[ticket_actor] = actor_override
    return app, pool


@pytest.fixture
def api(tickets_dsn: str, world: World, settings: TicketSettings) -> Iterator[Api]:
    clock = FakeClock()
    app, pool = build_app(tickets_dsn, world, settings, clock)
    try:
        with TestClient(app) as client:
            yield Api(client, world, clock, app)
    finally:
        pool.close()
