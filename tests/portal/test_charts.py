"""The SVG bar chart is labelled for screen readers and draws values to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from api.portal.charts import HEIGHT, MARGIN_BOTTOM, MARGIN_TOP, Series, bar_chart_svg, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def _chart(values_a: tuple, values_b: tuple) -> ET.Element:
    markup = bar_chart_svg(
        chart_id="c1", title="Strom: Verbrauch <nach Monat>", description="Drei Balken je Monat",
        categories=["Jan. 2026", "Feb. 2026"],
        series=[Series("Ihr Verbrauch", values_a), Series("Vorjahr", values_b)],
        unit="kWh", fmt=lambda v: f"{v:.1f}",
        bar_label=lambda s, month, value: f"{s}, {month}: {value}", no_value="keine Daten")
    return ET.fromstring(str(markup))


def test_chart_is_an_image_labelled_by_its_title_and_description() -> None:
    root = _chart((Decimal(100), Decimal(50)), (Decimal(80), None))
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby", "").split()
    assert ids == ["c1-title", "c1-desc"]
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "c1-title"
    assert title.text == "Strom: Verbrauch <nach Monat>"  # escaped in the markup, intact here
    assert desc is not None and desc.get("id") == "c1-desc" and desc.text
    assert "style" not in str(ET.tostring(root))  # CSP without 'unsafe-inline' must suffice


def test_every_bar_has_a_label_and_a_tooltip_with_its_value() -> None:
    root = _chart((Decimal(100), Decimal(50)), (Decimal(80), None))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("aria-label")]
    labels = [b.get("aria-label") for b in bars]
    assert labels == ["Ihr Verbrauch, Jan. 2026: 100.0 kWh", "Vorjahr, Jan. 2026: 80.0 kWh",
                      "Ihr Verbrauch, Feb. 2026: 50.0 kWh", "Vorjahr, Feb. 2026: keine Daten"]
    for bar in bars:
        tip = bar.find(f"{SVG}title")
        assert tip is not None and tip.text == bar.get("aria-label")


def test_bar_heights_are_proportional_and_a_missing_value_draws_nothing() -> None:
    root = _chart((Decimal(100), Decimal(50)), (Decimal(80), None))
    heights = [float(r.get("height", "0")) for r in root.iter(f"{SVG}rect")
               if r.get("aria-label")]
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    # The axis ends at 100 (nice ceiling of the largest value): 100 → full height.
    assert heights == pytest.approx([plot_h, plot_h * 0.8, plot_h * 0.5, 0.0], abs=0.06)


def test_axis_ends_on_a_readable_number() -> None:
    assert nice_ceiling(Decimal("322.445")) == Decimal(500)
    assert nice_ceiling(Decimal("0.07")) == Decimal("0.1")
    assert nice_ceiling(Decimal(2000)) == Decimal(2000)
    assert nice_ceiling(Decimal(0)) == Decimal(1)


def test_series_must_match_the_categories() -> None:
    with pytest.raises(ValueError, match="one value per category"):
        bar_chart_svg(chart_id="x", title="t", description="d", categories=["a"],
                      series=[Series("s", (Decimal(1), Decimal(2)))], unit="kWh", fmt=str,
                      bar_label=lambda s, m, v: v, no_value="-")
