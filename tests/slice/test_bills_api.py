"""The demo's month billed through billing_core, then read back through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from meterbill.config import DemoSettings, Settings
from meterbill.demo import DemoRun, run_demo

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def demo_run(db_dsn: str) -> DemoRun:
    # March 2026 contains the switch to summer time (29 March) in Europe/Berlin.
    settings = Settings(demo=DemoSettings(units=6, interval_minutes=360, period="2026-03"))
    return run_demo(settings, db_dsn, quiet=True)


@pytest.fixture
def client(db_dsn: str, demo_run: DemoRun) -> Iterator[TestClient]:
    with TestClient(create_app(db_dsn, SecretStr(TOKEN))) as test_client:
        yield test_client


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


def test_api_returns_the_same_bills(client: TestClient, demo_run: DemoRun) -> None:
    building_id = demo_run.building.building_id
    response = client.get(f"/buildings/{building_id}/bills", params={"period": "2026-03"},
                          headers=AUTH)
    assert response.status_code == 200
    assert response.json() == demo_run.bill.model_dump(mode="json")
    unit = demo_run.bill.units[2]
    one = client.get(f"/units/{unit.unit_id}/bill", params={"period": "2026-03"}, headers=AUTH)
    assert one.status_code == 200
    assert one.json() == unit.model_dump(mode="json")


def test_consumption_matches_the_bill_and_readings(client: TestClient, demo_run: DemoRun) -> None:
    unit = demo_run.bill.units[0]
    consumption = client.get(f"/units/{unit.unit_id}/consumption",
                             params={"start": "2026-03-01", "end": "2026-04-01"}, headers=AUTH)
    assert consumption.status_code == 200
    body = consumption.json()
    assert body["consumption"] == str(unit.consumption_kwh)
    readings = client.get(f"/units/{unit.unit_id}/readings", params={"period": "2026-03"},
                          headers=AUTH).json()
    assert readings[0]["read_at"] == "2026-02-28T23:00:00Z"
    assert readings[0]["value"] == body["start_value"]
    units = client.get("/units", headers=AUTH).json()
    assert [u["code"] for u in units] == ["W01", "W02", "W03", "W04", "W05", "W06"]


def test_missing_or_wrong_token_is_401_problem(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
        response = client.get("/units", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_unit_is_404_and_bad_period_422(client: TestClient) -> None:
    missing = client.get("/units/999999/bill", params={"period": "2026-03"}, headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unit 999999 not found"
    unit_id = client.get("/units", headers=AUTH).json()[0]["id"]
    bad = client.get(f"/units/{unit_id}/bill", params={"period": "2026-13"}, headers=AUTH)
    assert bad.status_code == 422
    assert bad.json()["field"] == "period"
    no_data = client.get(f"/units/{unit_id}/bill", params={"period": "2025-03"}, headers=AUTH)
    assert no_data.status_code == 422
    assert "no energy_import_kwh reading" in no_data.json()["detail"]
