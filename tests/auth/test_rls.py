"""The second wall: raw SQL as the application role sees only the caller's rows.

These tests bypass the API on purpose: they connect as the test server's
owner, drop to ``meterbill_app`` and set the transaction-local settings by
hand, as a request would, to prove PostgreSQL itself hides other tenants' rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import psycopg
import pytest

from tests.auth.conftest import make_user


@dataclass(frozen=True)
class World:
    dsn: str
    units: dict[str, int]     # U1, U2 in building B1 (property P1); U3 in B2 (property P2)
    meters: dict[str, int]    # per unit code, plus MAIN1 (building B1's main meter)
    buildings: dict[str, int]
    users: dict[str, int]     # alice: tenant U1, bob: tenant U2, carol: manager P1,
                              # dave: moved out of U2 last year


def _id(conn: psycopg.Connection, sql: str, params: tuple[object, ...]) -> int:
    row = conn.execute(sql + " RETURNING id", params).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def world(auth_dsn: str) -> World:
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        p1 = _id(conn, "INSERT INTO properties (code, name) VALUES ('RLS1', 'one')", ())
        p2 = _id(conn, "INSERT INTO properties (code, name) VALUES ('RLS2', 'two')", ())
        b1 = _id(conn, "INSERT INTO buildings (property_id, code, name) VALUES (%s, 'B', 'b')",
                 (p1,))
        b2 = _id(conn, "INSERT INTO buildings (property_id, code, name) VALUES (%s, 'B', 'b')",
                 (p2,))
        units, meters = {}, {}
        for code, building in (("U1", b1), ("U2", b1), ("U3", b2)):
            units[code] = _id(conn, """INSERT INTO units (building_id, code, living_area_m2,
                                       heated_area_m2) VALUES (%s, %s, 50, 50)""",
                              (building, code))
            meters[code] = _id(conn, """INSERT INTO meters (serial, medium, physical_unit, role,
                                        building_id, unit_id)
                                        VALUES (%s, 'electricity', 'kWh', 'sub', %s, %s)""",
                               (f"RLS-{code}", building, units[code]))
            tenant = _id(conn, "INSERT INTO tenants (name) VALUES (%s)", (f"tenant of {code}",))
            conn.execute("""INSERT INTO occupancies (unit_id, tenant_id, moved_in)
                            VALUES (%s, %s, '2024-01-01')""", (units[code], tenant))
        meters["MAIN1"] = _id(conn, """INSERT INTO meters (serial, medium, physical_unit, role,
                                       building_id) VALUES ('RLS-MAIN1', 'electricity', 'kWh',
                                       'main', %s)""", (b1,))
        for meter_id in meters.values():
            conn.execute("""INSERT INTO readings (meter_id, register, read_at, value)
                            VALUES (%s, 'energy_import_kwh', '2026-03-01T00:00Z', 1),
                                   (%s, 'energy_import_kwh', '2026-03-02T00:00Z', 2)""",
                         (meter_id, meter_id))
    users = {
        "alice": make_user(auth_dsn, "alice@rls.example", ("tenant", {"unit_id": units["U1"]})),
        "bob": make_user(auth_dsn, "bob@rls.example", ("tenant", {"unit_id": units["U2"]})),
        "carol": make_user(auth_dsn, "carol@rls.example",
                           ("property_manager", {"property_id": p1})),
        "dave": make_user(auth_dsn, "dave@rls.example", ("tenant", {"unit_id": units["U2"]}),
                          valid_from=date(2020, 1, 1), valid_to=date(2024, 12, 31)),
    }
    return World(auth_dsn, units, meters, {"B1": b1, "B2": b2}, users)


@pytest.fixture
def as_app(world: World) -> Iterator[psycopg.Connection]:
    """A transaction running as meterbill_app, rolled back afterwards."""
    with psycopg.connect(world.dsn) as conn:
        conn.execute("SET LOCAL ROLE meterbill_app")
        yield conn
        conn.rollback()


def _set(conn: psycopg.Connection, **settings: int) -> None:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (f"meterbill.{name}", str(value)))


def _ids(conn: psycopg.Connection, sql: str) -> set[int]:
    return {int(r[0]) for r in conn.execute(sql)}


TABLES = {
    "units": "SELECT id FROM units",
    "occupancies": "SELECT unit_id FROM occupancies",
    "meters": "SELECT id FROM meters",
    "readings": "SELECT DISTINCT meter_id FROM readings",
    "tenants": "SELECT id FROM tenants",
    "meter_exchanges": "SELECT id FROM meter_exchanges",
}


def test_without_settings_the_application_role_sees_nothing(as_app: psycopg.Connection) -> None:
    for table, sql in TABLES.items():
        assert _ids(as_app, sql) == set(), table


def test_a_tenant_sees_only_their_own_unit_even_in_raw_sql(world: World,
                                                           as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["alice"])
    assert _ids(as_app, TABLES["units"]) == {world.units["U1"]}
    assert _ids(as_app, TABLES["occupancies"]) == {world.units["U1"]}
    assert _ids(as_app, TABLES["meters"]) == {world.meters["U1"]}
    assert _ids(as_app, TABLES["readings"]) == {world.meters["U1"]}
    assert len(_ids(as_app, TABLES["tenants"])) == 1
    # Asking for the neighbour's rows by id finds nothing either.
    neighbour = as_app.execute("SELECT count(*) FROM readings WHERE meter_id = %s",
                               (world.meters["U2"],)).fetchone()
    assert neighbour == (0,)


def test_another_users_settings_show_another_users_rows_only(world: World,
                                                             as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["bob"])
    assert _ids(as_app, TABLES["units"]) == {world.units["U2"]}
    assert world.meters["U1"] not in _ids(as_app, TABLES["readings"])


def test_a_manager_sees_their_property_and_not_the_other(world: World,
                                                         as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["carol"])
    assert _ids(as_app, TABLES["units"]) == {world.units["U1"], world.units["U2"]}
    assert _ids(as_app, TABLES["readings"]) == {world.meters["U1"], world.meters["U2"],
                                                world.meters["MAIN1"]}


def test_a_tenant_who_moved_out_sees_no_rows(world: World, as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["dave"])
    for table, sql in TABLES.items():
        assert _ids(as_app, sql) == set(), table


def test_writing_into_a_foreign_unit_is_refused(world: World,
                                                as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["alice"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        as_app.execute("""INSERT INTO readings (meter_id, register, read_at, value)
                          VALUES (%s, 'energy_import_kwh', '2026-03-03T00:00Z', 3)""",
                       (world.meters["U2"],))


def test_billing_context_opens_the_callers_building_only(world: World,
                                                         as_app: psycopg.Connection) -> None:
    _set(as_app, user_id=world.users["alice"], billing_building_id=world.buildings["B1"])
    assert _ids(as_app, TABLES["readings"]) == {world.meters["U1"], world.meters["U2"],
                                                world.meters["MAIN1"]}
    _set(as_app, billing_building_id=world.buildings["B2"])  # not Alice's building
    assert _ids(as_app, TABLES["readings"]) == {world.meters["U1"]}


def test_an_api_key_writes_readings_for_its_own_building_only(world: World,
                                                              as_app: psycopg.Connection) -> None:
    with psycopg.connect(world.dsn, autocommit=True) as owner:
        key_id = _id(owner, """INSERT INTO api_keys (prefix, key_hash, name, actions, building_id,
                                                     expires_at)
                               VALUES ('rlstest1', 'x', 'gw', '{readings:write}', %s,
                                       now() + interval '1 day')""", (world.buildings["B1"],))
    _set(as_app, api_key_id=key_id)
    as_app.execute("""INSERT INTO readings (meter_id, register, read_at, value)
                      VALUES (%s, 'energy_import_kwh', '2026-03-03T00:00Z', 3)""",
                   (world.meters["U2"],))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        as_app.execute("""INSERT INTO readings (meter_id, register, read_at, value)
                          VALUES (%s, 'energy_import_kwh', '2026-03-03T00:00Z', 3)""",
                       (world.meters["U3"],))


def test_partitions_are_not_reachable_around_the_parent(as_app: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_app.execute("SELECT count(*) FROM readings_default")


def test_audit_log_is_append_only(world: World) -> None:
    with psycopg.connect(world.dsn, autocommit=True) as owner:
        owner.execute("INSERT INTO audit_log (event) VALUES ('test')")
        for sql in ("UPDATE audit_log SET event = 'changed'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                owner.execute(sql)
    with psycopg.connect(world.dsn) as conn:
        conn.execute("SET LOCAL ROLE meterbill_app")
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="permission denied"):
            conn.execute("DELETE FROM audit_log")


def test_later_tables_join_the_wall_with_one_call(world: World) -> None:
    with psycopg.connect(world.dsn, autocommit=True) as owner:
        owner.execute("CREATE TABLE rls_probe (unit_id bigint NOT NULL, note text)")
        owner.execute("SELECT meterbill_enable_tenant_rls('rls_probe', 'unit_id')")
        owner.execute("INSERT INTO rls_probe VALUES (%s, 'one'), (%s, 'two')",
                      (world.units["U1"], world.units["U2"]))
    with psycopg.connect(world.dsn) as conn:
        conn.execute("SET LOCAL ROLE meterbill_app")
        assert conn.execute("SELECT note FROM rls_probe").fetchall() == []
        _set(conn, user_id=world.users["alice"])
        assert conn.execute("SELECT note FROM rls_probe").fetchall() == [("one",)]
