"""The demo's month billed through billing_core, then read back through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth.settings import AuthSettings, PasswordHashParams
from meterbill.config import DemoSettings, Settings
from meterbill.demo import DemoRun, run_demo
from tests.auth.conftest import bearer, make_user

SECRET = SecretStr("test-signing-secret-0123456789abcdef")
AUTH_SETTINGS = AuthSettings(signing_secret=SECRET,
                             password_hash=PasswordHashParams(1, 1024, 1))


@pytest.fixture
def demo_run(db_dsn: str) -> DemoRun:
    # March 2026 contains the switch to summer time (29 March) in Europe/Berlin.
    settings = Settings(demo=DemoSettings(units=6, interval_minutes=360, period="2026-03"))
    return run_demo(settings, db_dsn, quiet=True)


@pytest.fixture
def client(db_dsn: str, demo_run: DemoRun) -> Iterator[TestClient]:
    with TestClient(create_app(db_dsn, SECRET, auth=AUTH_SETTINGS)) as test_client:
        yield test_client


@pytest.fixture
def admin(db_dsn: str, demo_run: DemoRun) -> dict[str, str]:
    """An installation-wide admin who has shown a second factor."""
    return bearer(db_dsn, AUTH_SETTINGS, make_user(db_dsn, "admin@example.org", ("admin", {})))


def test_every_cost_is_split_to_the_cent(demo_run: DemoRun) -> None:
    bill = demo_run.bill
    assert demo_run.failed_reads == 0
    for cost in bill.costs:
        shares = [ln.amount_cents for u in bill.units for ln in u.lines if ln.item == cost.item]
        assert len(shares) == 6
        assert sum(shares) == cost.total_cents
    assert sum(u.total_cents for u in bill.units) == bill.total_cents
    assert bill.total_cents > 0
    # the month runs from local midnight to local midnight: 23 h shorter day inside
    assert bill.period_start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert bill.period_end.isoformat() == "2026-04-01T00:00:00+02:00"


def test_api_returns_the_same_bills(client: TestClient, demo_run: DemoRun,
        admin: dict[str, str]) -> None:
    building_id = demo_run.building.building_id
    response = client.get(f"/buildings/{building_id}/bills", params={"period": "2026-03"},
                          headers=admin)
    assert response.status_code == 200
    assert response.json() == demo_run.bill.model_dump(mode="json")
    unit = demo_run.bill.units[2]
    one = client.get(f"/units/{unit.unit_id}/bill", params={"period": "2026-03"}, headers=admin)
    assert one.status_code == 200
    assert one.json() == unit.model_dump(mode="json")


def test_consumption_matches_the_bill_and_readings(client: TestClient, demo_run: DemoRun,
        admin: dict[str, str]) -> None:
    unit = demo_run.bill.units[0]
    consumption = client.get(f"/units/{unit.unit_id}/consumption",
                             params={"start": "2026-03-01", "end": "2026-04-01"}, headers=admin)
    assert consumption.status_code == 200
    body = consumption.json()
    assert body["consumption"] == str(unit.consumption_kwh)
    readings = client.get(f"/units/{unit.unit_id}/readings", params={"period": "2026-03"},
                          headers=admin).json()
    assert readings[0]["read_at"] == "2026-02-28T23:00:00Z"
    assert readings[0]["value"] == body["start_value"]
    units = client.get("/units", headers=admin).json()
    assert [u["code"] for u in units] == ["W01", "W02", "W03", "W04", "W05", "W06"]


def test_missing_or_wrong_token_is_401_problem(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
        response = client.get("/units", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_unit_is_404_and_bad_period_422(client: TestClient,
        admin: dict[str, str]) -> None:
    missing = client.get("/units/999999/bill", params={"period": "2026-03"}, headers=admin)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unit 999999 not found"
    unit_id = client.get("/units", headers=admin).json()[0]["id"]
    bad = client.get(f"/units/{unit_id}/bill", params={"period": "2026-13"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["field"] == "period"
    no_data = client.get(f"/units/{unit_id}/bill", params={"period": "2025-03"}, headers=admin)
    assert no_data.status_code == 422
    assert "no energy_import_kwh reading" in no_data.json()["detail"]


def test_tenant_sees_own_bill_and_a_neighbours_is_404(client: TestClient, demo_run: DemoRun,
                                                      db_dsn: str) -> None:
    mine, neighbour = demo_run.bill.units[1], demo_run.bill.units[4]
    tenant = bearer(db_dsn, AUTH_SETTINGS,
                    make_user(db_dsn, "tenant@example.org", ("tenant", {"unit_id": mine.unit_id})))
    own = client.get(f"/units/{mine.unit_id}/bill", params={"period": "2026-03"}, headers=tenant)
    assert own.status_code == 200
    assert own.json() == mine.model_dump(mode="json")
    other = client.get(f"/units/{neighbour.unit_id}/bill", params={"period": "2026-03"},
                       headers=tenant)
    assert other.status_code == 404
    assert other.json()["detail"] == f"unit {neighbour.unit_id} not found"
    building = client.get(f"/buildings/{demo_run.building.building_id}/bills",
                          params={"period": "2026-03"}, headers=tenant)
    assert building.status_code == 404
    assert [u["id"] for u in client.get("/units", headers=tenant).json()] == [mine.unit_id]
