"""The portal pages over HTTP: scope, sign-in, CSRF, headers, CSV and the numbers shown."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from babel.numbers import format_currency
from fastapi.testclient import TestClient

from api.periods import month_period
from api.portal.identity import SESSION_COOKIE
from api.units.service import consumption
from tests.portal.conftest import PASSWORD, PortalWorld, cookies_of, portal_app

PAGES = ["/portal/", "/portal/consumption", "/portal/bills", "/portal/payments",
         "/portal/profile"]


@pytest.fixture(scope="module")
def client(portal_world: PortalWorld) -> Iterator[TestClient]:
    with TestClient(portal_app(portal_world.dsn)) as c:
        yield c


def _get(client: TestClient, world: PortalWorld, path: str, tenant: str = "a",
         **headers: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    client.cookies.update(cookies_of(getattr(world, tenant)))
    return client.get(path, headers=headers, follow_redirects=False)


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))  # keeps no-break spaces


@pytest.mark.parametrize("path", PAGES)
def test_pages_without_a_session_send_the_browser_to_sign_in(client: TestClient,
                                                             path: str) -> None:
    client.cookies.clear()
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/login"


def test_a_forged_or_foreign_cookie_is_not_a_session(client: TestClient,
                                                     portal_world: PortalWorld) -> None:
    client.cookies.clear()
    _sid, issued, mac = portal_world.a.cookie.split(".")
    client.cookies.set(SESSION_COOKIE, f"{portal_world.b.session_id}.{issued}.{mac}")
    assert client.get("/portal/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers(client: TestClient, portal_world: PortalWorld,
                                                 path: str) -> None:
    response = _get(client, portal_world, path)
    assert response.status_code == 200
    csp = response.headers.get_list("content-security-policy")
    full = next(p for p in csp if "default-src" in p)
    assert "default-src 'none'" in full and "frame-ancestors 'none'" in full
    assert "unsafe-inline" not in full and "script-src" not in full  # no script at all
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "<script" not in response.text and " style=" not in response.text


def test_stylesheet_is_served_without_a_session(client: TestClient) -> None:
    client.cookies.clear()
    response = client.get("/portal/static/portal.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ".skip:focus" in response.text


def test_another_tenants_bill_is_not_found(client: TestClient, portal_world: PortalWorld) -> None:
    own = _get(client, portal_world, f"/portal/bills/{portal_world.a.unit_id}/2026-03")
    assert own.status_code == 200
    other = _get(client, portal_world, f"/portal/bills/{portal_world.b.unit_id}/2026-03")
    assert other.status_code == 404
    missing = _get(client, portal_world, "/portal/bills/999999/2026-03")
    assert missing.status_code == 404
    assert _text(other.text).count("Nicht gefunden") >= 1
    # The other way round as well.
    assert _get(client, portal_world, f"/portal/bills/{portal_world.a.unit_id}/2026-03",
                tenant="b").status_code == 404


def test_bill_detail_shows_the_apis_amounts(client: TestClient,
                                            portal_world: PortalWorld) -> None:
    unit = next(u for u in portal_world.bill.units if u.unit_id == portal_world.a.unit_id)
    page = _text(_get(client, portal_world,
                      f"/portal/bills/{portal_world.a.unit_id}/2026-03").text)
    assert "Stromabrechnung März 2026" in page
    for line in unit.lines:
        euros = format_currency(Decimal(line.amount_cents) / 100, "EUR", locale="de_DE")
        assert euros in page
    assert format_currency(Decimal(unit.total_cents) / 100, "EUR", locale="de_DE") in page
    assert sum(line.amount_cents for line in unit.lines) == unit.total_cents


def test_chinese_pages_by_profile_and_by_switch(client: TestClient,
                                                portal_world: PortalWorld) -> None:
    unit = next(u for u in portal_world.bill.units if u.unit_id == portal_world.b.unit_id)
    page = _text(_get(client, portal_world, "/portal/bills", tenant="b").text)
    assert "账单" in page and "2026年3月" in page
    assert format_currency(Decimal(unit.total_cents) / 100, "EUR", locale="zh_Hans_CN") in page
    switched = _get(client, portal_world, "/portal/bills?lang=nb", tenant="b")
    assert 'lang="nb"' in switched.text and "Regninger" in switched.text
    browser = _get(client, portal_world, "/portal/", tenant="a", **{"Accept-Language": "zh"})
    assert "Kontostand" in browser.text  # the profile (de) wins over the browser


def test_consumption_csv_agrees_with_the_api(client: TestClient,
                                             portal_world: PortalWorld) -> None:
    response = _get(client, portal_world, "/portal/consumption.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    march = [r for r in rows if r["month"] == "2026-03"]
    assert len(march) == 1
    period = month_period("2026-03", "Europe/Berlin")
    with psycopg.connect(portal_world.dsn) as conn:
        api = consumption(conn, portal_world.a.unit_id, period.start, period.end)
        areas = dict(conn.execute("SELECT id, living_area_m2 FROM units").fetchall())
    assert Decimal(march[0]["consumption"]) == api.consumption.quantize(Decimal("0.001"))
    assert march[0]["same_month_last_year"] == ""  # the demo has no 2025 readings
    # Area-normalized building average: Σ kWh / Σ m² × this unit's m².
    total_kwh = sum(u.consumption_kwh for u in portal_world.bill.units)
    expected = total_kwh / sum(areas.values()) * areas[portal_world.a.unit_id]
    assert Decimal(march[0]["building_average_area_normalized"]) == expected.quantize(
        Decimal("0.001"))


def test_consumption_page_has_chart_and_table(client: TestClient,
                                              portal_world: PortalWorld) -> None:
    html = _get(client, portal_world, "/portal/consumption").text
    assert html.count('role="img"') == 1 and "<desc" in html
    assert "<caption>" in html and 'scope="row"' in html
    assert "Vorjahresmonat" in html and "keine Daten" in html


def test_payments_show_iban_reference_and_qr(client: TestClient,
                                             portal_world: PortalWorld) -> None:
    html = _get(client, portal_world, "/portal/payments").text
    assert "DE89 3704 0044 0532 0130 00" in html
    assert f"RF57U{portal_world.a.unit_id}M202603"[:4] in html
    assert re.search(r"<svg role=\"img\" aria-label=\"QR-Code", html)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_profile_saves_language_and_notifications_only_with_csrf(
        client: TestClient, portal_world: PortalWorld) -> None:
    page = _get(client, portal_world, "/portal/profile", tenant="b")
    token = _csrf(page.text)
    refused = client.post("/portal/profile", data={"language": "nb"}, follow_redirects=False)
    assert refused.status_code == 403
    saved = client.post("/portal/profile", data={"csrf_token": token, "language": "nb",
                                                 "notify_status": "on"},
                        follow_redirects=False)
    assert saved.status_code == 303
    with psycopg.connect(portal_world.dsn) as conn:
        language = conn.execute("SELECT language FROM tenants WHERE id = %s",
                                (portal_world.b.tenant_id,)).fetchone()
        prefs = dict(conn.execute(
            "SELECT event, enabled FROM ticket_notification_prefs WHERE email = %s",
            (portal_world.b.email,)).fetchall())
    assert language == ("nb",)
    assert prefs == {"status": True, "comment": False, "survey": False}
    assert "Profil" in _get(client, portal_world, "/portal/profile", tenant="b").text
    client.post("/portal/profile", data={"csrf_token": token, "language": "zh",
                                         "notify_status": "on", "notify_comment": "on",
                                         "notify_survey": "on"})


def test_sign_in_with_password_sets_a_safe_cookie_and_logout_ends_it(
        client: TestClient, portal_world: PortalWorld) -> None:
    client.cookies.clear()
    form = client.get("/portal/login?lang=en")
    assert form.status_code == 200 and "Sign in" in form.text
    token = _csrf(form.text)
    wrong = client.post("/portal/login", data={"csrf_token": token, "email": portal_world.a.email,
                                               "password": "wrong"}, follow_redirects=False)
    assert wrong.status_code == 401
    token = _csrf(wrong.text)
    ok = client.post("/portal/login", data={"csrf_token": token, "email": portal_world.a.email,
                                            "password": PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/portal/"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    home = client.get("/portal/")
    assert home.status_code == 200 and "Anna Schmidt" in home.text
    logout = client.post("/portal/logout", data={"csrf_token": _csrf(home.text)},
                         follow_redirects=False)
    assert logout.status_code == 303
    # The session row is revoked: even a kept copy of the cookie no longer works.
    client.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert client.get("/portal/", follow_redirects=False).status_code == 303


def test_login_form_requires_its_csrf_cookie(client: TestClient,
                                             portal_world: PortalWorld) -> None:
    client.cookies.clear()
    response = client.post("/portal/login", data={"csrf_token": "x", "email": "a@b.c",
                                                  "password": "p"})
    assert response.status_code == 403


@pytest.mark.parametrize(("lang", "heading"), [("de", "Strom der Wohnungen"),
                                               ("zh", "单元用电")])
def test_bill_pdf_has_the_same_amounts(client: TestClient, portal_world: PortalWorld,
                                       tmp_path: Path, lang: str, heading: str) -> None:
    unit = next(u for u in portal_world.bill.units if u.unit_id == portal_world.a.unit_id)
    response = _get(client, portal_world,
                    f"/portal/bills/{portal_world.a.unit_id}/2026-03/pdf?lang={lang}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    pdf = tmp_path / "bill.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert heading in text
    for cents in [*(line.amount_cents for line in unit.lines), unit.total_cents]:
        assert f"{cents // 100}.{cents % 100:02d} EUR" in text
    other = _get(client, portal_world, f"/portal/bills/{portal_world.b.unit_id}/2026-03/pdf")
    assert other.status_code == 404


def test_over_https_the_cookie_is_secure_host_only(portal_world: PortalWorld) -> None:
    with TestClient(portal_app(portal_world.dsn), base_url="https://testserver") as secure:
        form = secure.get("/portal/login")
        signed_in = secure.post("/portal/login", data={
            "csrf_token": _csrf(form.text), "email": portal_world.a.email,
            "password": PASSWORD}, follow_redirects=False)
        assert signed_in.status_code == 303
        cookie = next(c for c in signed_in.headers.get_list("set-cookie")
                      if c.startswith("__Host-mb_portal="))
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        assert secure.get("/portal/", follow_redirects=False).status_code == 200
        # A plain cookie (settable over http by anyone on the network) does not count.
        secure.cookies.clear()
        secure.cookies.set(SESSION_COOKIE, portal_world.a.cookie)
        assert secure.get("/portal/", follow_redirects=False).status_code == 303
