"""``meterbill apikey create|list|revoke`` against the real database and the API."""

from __future__ import annotations

import json

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from meterbill.apikey_cli import app


@pytest.fixture
def building_id(auth_dsn: str) -> int:
    with psycopg.connect(auth_dsn, autocommit=True) as conn:
        prop = conn.execute("INSERT INTO properties (code, name) VALUES ('CLI', 'p') RETURNING id"
                            ).fetchone()
        row = conn.execute("""INSERT INTO buildings (property_id, code, name)
                              VALUES (%s, 'B', 'b') RETURNING id""", (prop[0],)).fetchone()
        conn.execute("""INSERT INTO units (building_id, code, living_area_m2, heated_area_m2)
                        VALUES (%s, 'G1', 10, 10)""", (row[0],))
    return int(row[0])


def test_create_use_list_and_revoke_a_key(auth_dsn: str, client: TestClient,
                                          building_id: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERBILL_DSN", auth_dsn)
    runner = CliRunner()
    created = runner.invoke(app, ["create", "gateway house", "--action", "units:list",
                                  "--building", str(building_id), "--days", "30", "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    headers = {"Authorization": f"Bearer {key['key']}"}
    units = client.get("/units", headers=headers)
    assert units.status_code == 200
    assert [u["code"] for u in units.json()] == ["G1"]  # its building only, by RLS

    listed = runner.invoke(app, ["list", "--json"])
    row = next(r for r in json.loads(listed.output) if r["id"] == key["id"])
    assert row["actions"] == ["units:list"] and row["building_id"] == building_id
    assert key["key"] not in listed.output  # the secret is never shown again

    assert runner.invoke(app, ["revoke", str(key["id"])]).exit_code == 0
    assert client.get("/units", headers=headers).status_code == 401


def test_unknown_action_is_refused_with_the_choices(auth_dsn: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERBILL_DSN", auth_dsn)
    result = CliRunner().invoke(app, ["create", "x", "--action", "readings:wrte"])
    assert result.exit_code == 2
    assert "readings:wrte" in result.output and "readings:write" in result.output
