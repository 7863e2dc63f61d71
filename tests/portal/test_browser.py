"""The portal in a real browser: Debian's Chromium, headless, driven by Playwright.

uvicorn serves the real app (with the portal router) on a socket this test
binds first, so the browser can connect at once: the kernel queues the
connection until the server thread accepts it, and nothing waits on a timer.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import uvicorn
from babel.numbers import format_currency, format_decimal
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from api.periods import month_period
from api.units.service import consumption
from tests.portal.conftest import PASSWORD, PortalWorld, portal_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def base_url(portal_world: PortalWorld) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(portal_app(portal_world.dsn), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/portal/")
    expect(page).to_have_url(f"{base_url}/portal/login")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{base_url}/portal/")


def _assert_png_not_blank(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data)).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, "screenshot is one flat colour"
    histogram = image.histogram()
    assert sum(1 for count in histogram if count) > 16, "screenshot has almost no shades"


def test_tenant_sees_consumption_and_bill_in_german_and_chinese(
        browser: Browser, base_url: str, portal_world: PortalWorld, tmp_path: Path) -> None:
    tenant = portal_world.a
    unit = next(u for u in portal_world.bill.units if u.unit_id == tenant.unit_id)
    total_de = format_currency(Decimal(unit.total_cents) / 100, "EUR", locale="de_DE")
    total_zh = format_currency(Decimal(unit.total_cents) / 100, "EUR", locale="zh_Hans_CN")
    period = month_period("2026-03", "Europe/Berlin")
    with psycopg.connect(portal_world.dsn) as conn:
        used = consumption(conn, tenant.unit_id, period.start, period.end).consumption
    used_de = format_decimal(used, format="#,##0.0", locale="de_DE")

    context = browser.new_context(locale="de-DE", viewport={"width": 1024, "height": 900})
    page = context.new_page()
    _sign_in(page, base_url, tenant.email)

    # Home: what the latest bill says is due, in German formats.
    expect(page.get_by_role("heading", level=1)).to_have_text("Guten Tag, Anna Schmidt")
    expect(page.locator("header.top")).to_have_css("border-bottom-style", "solid")  # styled
    expect(page.get_by_test_id("balance")).to_contain_text(total_de)
    expect(page.get_by_test_id("next-payment")).to_contain_text("14. April 2026")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Zum Inhalt springen")).to_be_focused()
    page.screenshot(path=str(tmp_path / "home-de.png"), full_page=True)
    _assert_png_not_blank(tmp_path / "home-de.png")

    # Consumption: chart with a text alternative, the month's kWh as the API computes it.
    page.get_by_role("link", name="Verbrauch").click()
    chart = page.get_by_role("img", name="Strom: Verbrauch von Zähler")
    expect(chart).to_be_visible()
    row = page.get_by_role("row", name="März 2026")
    expect(row.get_by_role("cell").first).to_have_text(used_de)
    with page.expect_download() as download:
        page.get_by_role("link", name="Als CSV herunterladen").click()
    csv_text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"2026-03,{used.quantize(Decimal('0.001'))}," in csv_text
    page.screenshot(path=str(tmp_path / "consumption-de.png"), full_page=True)
    _assert_png_not_blank(tmp_path / "consumption-de.png")

    # Bills: list → detail, the total equals the API's total_cents.
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role(
        "link", name="Abrechnungen").click()
    expect(page.get_by_test_id("bill-total").first).to_have_text(total_de)
    page.get_by_role("link", name="Abrechnung März 2026 für W01 ansehen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stromabrechnung März 2026")
    expect(page.get_by_test_id("bill-total")).to_have_text(total_de)
    with page.expect_download() as pdf:
        page.get_by_role("link", name="Als PDF herunterladen").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")
    assert pdf.value.suggested_filename == "bill-W01-2026-03.pdf"
    page.screenshot(path=str(tmp_path / "bill-de.png"), full_page=True)
    _assert_png_not_blank(tmp_path / "bill-de.png")

    # Switch to Chinese: the same bill, Chinese words and number format.
    page.get_by_role("link", name="中文 (Chinesisch)").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年3月 电费账单")
    expect(page.get_by_test_id("bill-total")).to_have_text(total_zh)
    page.get_by_role("link", name="返回账单列表").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("账单")
    page.get_by_role("link", name="首页").click()
    expect(page.get_by_test_id("balance")).to_contain_text(total_zh)
    page.get_by_role("link", name="用量").click()
    expect(page.get_by_role("img", name="电：表计")).to_be_visible()
    page.screenshot(path=str(tmp_path / "consumption-zh.png"), full_page=True)
    _assert_png_not_blank(tmp_path / "consumption-zh.png")

    # And Norwegian: words and the decimal comma of nb.
    page.get_by_role("link", name="Norsk bokmål（挪威语）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forbruk")
    expect(page.get_by_role("row", name="mars 2026").get_by_role("cell").first).to_have_text(
        format_decimal(used, format="#,##0.0", locale="nb_NO"))

    # Another tenant's bill does not exist for this one.
    other = page.goto(f"{base_url}/portal/bills/{portal_world.b.unit_id}/2026-03?lang=zh")
    assert other is not None and other.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")
    context.close()


AXE = Path(__file__).with_name("vendor") / "axe-core-4.14.1" / "axe.min.js"
# Each page once, the languages spread over them (all four appear).
AXE_PAGES = [("/portal/", "de"), ("/portal/consumption", "zh"), ("/portal/bills", "nb"),
             ("/portal/bills/{unit}/2026-03", "zh"), ("/portal/payments", "en"),
             ("/portal/profile", "nb")]


def _axe_problems(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in result
            if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation_on_any_page(browser: Browser, base_url: str,
                                                    portal_world: PortalWorld) -> None:
    # axe is injected as a script, which the portal's CSP forbids on purpose:
    # this context alone bypasses CSP so the checker can run.
    context = browser.new_context(locale="de-DE", bypass_csp=True,
                                  viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    # The checker itself works: an image without a text alternative is critical.
    page.set_content('<!doctype html><html lang="en"><title>x</title><main>'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></html>')
    assert any(p.startswith("image-alt (critical)") for p in _axe_problems(page))
    page.goto(f"{base_url}/portal/login?lang=zh")
    problems = {"/portal/login": _axe_problems(page)}
    _sign_in(page, base_url, portal_world.a.email)
    for path, lang in AXE_PAGES:
        url = path.format(unit=portal_world.a.unit_id)
        response = page.goto(f"{base_url}{url}?lang={lang}")
        assert response is not None and response.status == 200
        problems[f"{url}?lang={lang}"] = _axe_problems(page)
    context.close()
    assert {k: v for k, v in problems.items() if v} == {}
