"""Bills render as JSON, HTML and PDF in the tenant's language; the PDF is checked as an image."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from billing_core.apportion_cli import apportion
from billing_core.apportion_input import load_apportion_input
from billing_core.bill_render import bill_html, bills_pdf, result_json
from billing_core.building_apportionment import apportion_building
from billing_core.cent_rounding import cents_str

ROOT = Path(__file__).resolve().parents[3]
DE = ROOT / "docs" / "examples" / "de-apportion-building.json"
CN = ROOT / "docs" / "examples" / "cn-apportion-building.json"
_app = typer.Typer()
_app.command()(apportion)


def _result(path: Path):
    return apportion_building(load_apportion_input(path))


def test_json_output_round_trips_bills_and_balances():
    result = _result(DE)
    out = json.loads(result_json(result))
    assert [b["party_id"] for b in out["bills"]] == [b.party_id for b in result.bills]
    assert [b["balance_cents"] for b in out["bills"]] == [b.balance_cents for b in result.bills]


@pytest.mark.parametrize(("party", "words"), [
    ("EG-links", ["Betriebs- und Heizkostenabrechnung", "Nachzahlung", "Vorauszahlungen",
                  "Grundkosten (Wohnfläche)", "Kürzungsrecht"]),
    ("OG1-rechts", ["Statement of operating and heating costs", "Balance due", "Prepayments",
                    "Heating costs", "fixed costs (living area)"]),
    ("OG2/Berg", ["Avregning", "Å betale", "Akontobetalinger", "Oppvarming",
                  "faste kostnader (boareal)"]),
    ("OG2/Wang", ["费用分摊结算单", "应补缴", "已预缴", "供暖费", "基本费用 (建筑面积)"]),
])
def test_html_bill_is_in_the_tenants_language_with_the_balance(party, words):
    bill = _result(DE).bill(party)
    page = bill_html(bill)
    for word in words:
        assert word in page
    assert f"{cents_str(abs(bill.balance_cents))} EUR" in page
    assert "estimated" in page or party != "OG2/Wang"


def _pdf_checks(pdf: bytes, tmp_path: Path) -> tuple[str, list[bytes]]:
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "bills.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(path), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.pgm"))
    assert pages
    images = [p.read_bytes() for p in pages]
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, timeout=60,
                          capture_output=True, text=True).stdout
    return text, images


def _non_blank(pgm: bytes) -> bool:
    # binary PGM (P5): header of 3 whitespace-separated fields + maxval, then pixels
    parts = pgm.split(b"\n", 3)
    pixels = parts[3] if parts[0] == b"P5" else pgm[-1000:]
    dark = sum(1 for px in pixels if px < 128)
    return dark > 200 and dark < len(pixels) * 0.5


def test_poppler_is_installed_for_the_pdf_checks():
    # Debian poppler-utils; the PDF tests below depend on it (no skip: CI must install it).
    assert shutil.which("pdftoppm") and shutil.which("pdftotext")


def test_pdf_pages_render_to_non_blank_images_showing_the_totals(tmp_path):
    result = _result(DE)
    text, images = _pdf_checks(bills_pdf(result.bills), tmp_path)
    assert len(images) >= len(result.bills)
    assert all(_non_blank(img) for img in images)
    for bill in result.bills:
        assert f"{cents_str(abs(bill.balance_cents))} EUR" in text
        assert f"{cents_str(bill.charges_cents)} EUR" in text


def test_chinese_pdf_renders_cjk_text(tmp_path):
    result = _result(CN)
    pdf = bills_pdf(result.bills)
    text, images = _pdf_checks(pdf, tmp_path)
    assert all(_non_blank(img) for img in images)
    assert "费用分摊结算单" in text
    assert f"{cents_str(result.bills[0].charges_cents)} CNY" in text


def test_cli_writes_pdf_and_table(tmp_path):
    out = tmp_path / "de.pdf"
    result = CliRunner().invoke(_app, [str(DE), "--format", "pdf", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    table = CliRunner().invoke(_app, [str(DE), "--format", "table"])
    assert table.exit_code == 0
    assert "EG-links" in table.stdout and "heating-system.hot_water" in table.stdout
    missing = CliRunner().invoke(_app, [str(DE), "--format", "pdf"])
    assert missing.exit_code == 2


def test_app_mounts_as_meterbill_apportion_subcommand():
    from billing_core.apportion_cli import app

    root = typer.Typer()
    root.add_typer(app, name="apportion")

    @root.command()
    def other() -> None:  # a second command makes root a group, as in meterbill.cli
        """Placeholder."""

    result = CliRunner().invoke(root, ["apportion", str(CN), "--format", "table"])
    assert result.exit_code == 0, result.output
    assert "beijing-chaoyang-3-2" in result.stdout


def test_cli_names_unit_and_meter_when_a_consumption_is_missing(tmp_path):
    raw = {"building": {"id": "x"}, "period": {"start": "2025-01-01", "end": "2025-12-31"},
           "units": [{"id": "a", "living_area_m2": "50", "consumption": {"heat": "1"}},
                     {"id": "b", "living_area_m2": "50"}],
           "cost_items": [{"kind": "heating", "id": "h", "total_cents": 100,
                           "split": {"consumption_share_pct": "50"}}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(raw))
    result = CliRunner().invoke(_app, [str(path)])
    assert result.exit_code == 1
    assert "h: unit b (no tenant named) has no consumption for meter 'heat'" in result.stderr


def test_cli_reports_json_syntax_errors_with_line_and_column(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"building": {"id": "x"},\n "period": }')
    result = CliRunner().invoke(_app, [str(path)])
    assert result.exit_code == 2
    assert "line 2 column" in result.stderr
