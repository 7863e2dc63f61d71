"""Render bills as JSON, HTML and PDF in the tenant's language (de, en, zh, nb).

The statement shows, per line, the cost item, key, the unit's and the total
key value, the share and the amount (§ 556 Abs. 3 BGB: a statement the tenant
can check), then charges, prepayments and the balance due or credit.

PDF uses fpdf2 (pure Python).  Latin text uses DejaVu Sans when installed
(Debian ``fonts-dejavu-core``), else the PDF core font Helvetica (Latin-1).
Chinese needs a font with CJK glyphs: Noto Sans CJK (``fonts-noto-cjk``), or
the much smaller Droid Sans Fallback (``fonts-droid-fallback``), or WenQuanYi;
without one, a Chinese PDF raises :class:`RenderError` naming the packages,
rather than printing empty boxes.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from billing_core.bill import ApportionResult, Bill
from billing_core.cent_rounding import cents_str, round_decimal
from billing_core.errors import BillingError
from billing_core.rule_tables import betrkv_categories


class RenderError(BillingError):
    """A bill cannot be rendered (missing font for the tenant's language)."""


LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Betriebs- und Heizkostenabrechnung", "unit": "Einheit", "tenant": "Nutzer",
        "vacancy": "Leerstand (Eigentümer)", "period": "Abrechnungszeitraum",
        "occupied": "Nutzungszeit", "item": "Kostenart", "key": "Schlüssel",
        "unit_value": "Ihr Anteil", "total_value": "Gesamt", "share": "Anteil",
        "amount": "Betrag", "charges": "Summe Kosten", "vat": "darin USt.",
        "prepayments": "Vorauszahlungen", "due": "Nachzahlung", "credit": "Guthaben",
        "settled": "Ausgeglichen", "basis": "Rechtsgrundlage",
    },
    "en": {
        "title": "Statement of operating and heating costs", "unit": "Unit", "tenant": "Tenant",
        "vacancy": "Vacancy (owner)", "period": "Billing period", "occupied": "Occupied",
        "item": "Cost item", "key": "Key", "unit_value": "Your value", "total_value": "Total",
        "share": "Share", "amount": "Amount", "charges": "Total charges", "vat": "incl. VAT",
        "prepayments": "Prepayments", "due": "Balance due", "credit": "Credit",
        "settled": "Settled", "basis": "Legal basis",
    },
    "zh": {
        "title": "费用分摊结算单", "unit": "房号", "tenant": "住户", "vacancy": "空置（业主）",
        "period": "结算期间", "occupied": "居住期间", "item": "费用项目", "key": "分摊方式",
        "unit_value": "本户数值", "total_value": "合计数值", "share": "比例", "amount": "金额",
        "charges": "费用合计", "vat": "含增值税", "prepayments": "已预缴", "due": "应补缴",
        "credit": "应退还", "settled": "已结清", "basis": "依据",
    },
    "nb": {
        "title": "Avregning av felleskostnader og oppvarming", "unit": "Enhet",
        "tenant": "Leietaker", "vacancy": "Ledig (eier)", "period": "Avregningsperiode",
        "occupied": "Botid", "item": "Kostnad", "key": "Fordelingsnøkkel",
        "unit_value": "Din verdi", "total_value": "Totalt", "share": "Andel", "amount": "Beløp",
        "charges": "Sum kostnader", "vat": "herav mva.", "prepayments": "Akontobetalinger",
        "due": "Å betale", "credit": "Til gode", "settled": "Oppgjort",
        "basis": "Hjemmel",
    },
}

# Names of keys, bill components and default item labels, per language.  Custom
# item labels from the input are printed as given.
TERMS: dict[str, dict[str, str]] = {
    "de": {
        "like": "wie",
        "living_area": "Wohnfläche", "heated_area": "beheizte Fläche",
        "enclosed_volume": "umbauter Raum", "person_days": "Personentage",
        "units": "Wohneinheiten", "ownership_shares": "Miteigentumsanteile",
        "consumption": "Verbrauch", "fixed costs": "Grundkosten",
        "consumption costs": "Verbrauchskosten", "tenant's cut": "Kürzungsrecht",
        "tiered tariff": "Stufentarif", "monthly fee": "Monatsgebühr",
        "default interest": "Verzugszinsen", "late fee": "Säumniszuschlag",
        "fixed amount": "Festbetrag", "months": "Monate", "days": "Tage", "pct": "%",
        "tenants' CO2 share": "CO2-Anteil Mieter",
        "landlord's CO2 share credited": "CO2-Anteil Vermieter (Gutschrift)",
    },
    "en": {
        "like": "like",
        "living_area": "living area", "heated_area": "heated area",
        "enclosed_volume": "enclosed volume", "person_days": "person-days",
        "units": "households", "ownership_shares": "ownership shares",
        "consumption": "consumption", "fixed costs": "fixed costs",
        "consumption costs": "consumption costs", "tenant's cut": "tenant's reduction",
        "tiered tariff": "tiered tariff", "monthly fee": "monthly fee",
        "default interest": "default interest", "late fee": "late fee",
        "fixed amount": "fixed amount", "months": "months", "days": "days", "pct": "%",
        "Heizkosten": "Heating costs", "Warmwasserkosten": "Hot-water costs",
        "CO2-Kosten": "CO2 costs", "Verzugszinsen": "Default interest",
        "tenants' CO2 share": "tenants' CO2 share",
        "landlord's CO2 share credited": "landlord's CO2 share credited",
    },
    "zh": {
        "like": "同",
        "living_area": "建筑面积", "heated_area": "供暖面积", "enclosed_volume": "建筑体积",
        "person_days": "人天数", "units": "按户", "ownership_shares": "共有份额",
        "consumption": "用量", "fixed costs": "基本费用", "consumption costs": "计量费用",
        "tenant's cut": "租户扣减", "tiered tariff": "阶梯价格", "monthly fee": "月费",
        "default interest": "逾期利息", "late fee": "违约金", "fixed amount": "固定金额",
        "months": "月", "days": "天", "pct": "%",
        "Heizkosten": "供暖费", "Warmwasserkosten": "热水费", "CO2-Kosten": "二氧化碳费用",
        "Verzugszinsen": "逾期利息", "tenants' CO2 share": "租户二氧化碳份额",
        "landlord's CO2 share credited": "房东二氧化碳份额退还",
    },
    "nb": {
        "like": "som",
        "living_area": "boareal", "heated_area": "oppvarmet areal",
        "enclosed_volume": "bygningsvolum", "person_days": "persondøgn",
        "units": "boenheter", "ownership_shares": "eierbrøk", "consumption": "forbruk",
        "fixed costs": "faste kostnader", "consumption costs": "forbruksavhengige kostnader",
        "tenant's cut": "leietakers avkortning", "tiered tariff": "trinntariff",
        "monthly fee": "månedsavgift", "default interest": "forsinkelsesrente",
        "late fee": "purregebyr", "fixed amount": "fast beløp", "months": "måneder",
        "days": "dager", "pct": "%",
        "Heizkosten": "Oppvarming", "Warmwasserkosten": "Varmtvann", "CO2-Kosten": "CO2-kostnader",
        "Verzugszinsen": "Forsinkelsesrente", "tenants' CO2 share": "leietakers CO2-andel",
        "landlord's CO2 share credited": "utleiers CO2-andel kreditert",
    },
}


def _betrkv_terms(language: str) -> dict[str, str]:
    """German statements name BetrKV categories as § 2 does (short form)."""
    if language != "de":
        return {}
    out = {}
    for cat in betrkv_categories().values():
        name = re.sub(r"^(die )?(Kosten )?((der|des|für den) )?(Betriebs (der|des) )?", "",
                      cat.name_de)
        out[cat.short_en] = name[:1].upper() + name[1:]
    return out


def term(language: str, text: str) -> str:
    """Translate a key, component or default label; the part before " (" is looked up."""
    terms = {**_betrkv_terms(language), **TERMS.get(language, TERMS["en"])}
    if text.startswith("like "):
        return f"{terms.get('like', 'like')} {text[5:]}"
    if " + " in text:
        return " + ".join(term(language, part) for part in text.split(" + "))
    if text in terms:
        return terms[text]
    head, sep, rest = text.partition(" (")
    if sep and head in terms:
        inner = rest.rstrip(")")
        return f"{terms[head]} ({terms.get(inner, inner)})"
    return text


_LATIN_FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
]
_CJK_FONTS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]


def shown_number(exact: str, places: int = 4) -> str:
    """A key value for reading: exact decimals as they are, fractions to ``places`` decimals.

    The JSON output keeps the exact ``n/d``; a tenant reads 59.8630, not 4370/73.
    """
    if "/" not in exact:
        return exact
    num, den = exact.split("/")
    return str(round_decimal(Fraction(int(num), int(den)), places))


def shown_share(exact: str) -> str:
    """A share as a percentage with up to four decimals."""
    if not exact:
        return ""
    num, _, den = exact.partition("/")
    value = Fraction(Decimal(num)) / (Fraction(Decimal(den)) if den else 1) * 100
    text = str(round_decimal(value, 4)).rstrip("0").rstrip(".")
    return f"{text} %"


def labels(language: str) -> dict[str, str]:
    """The label set of a language (English when unknown)."""
    return LABELS.get(language, LABELS["en"])


def _money(cents: int, currency: str) -> str:
    return f"{cents_str(cents)} {currency}"


def _balance_label(bill: Bill, lab: dict[str, str]) -> str:
    return lab[bill.balance_kind]


def result_json(result: ApportionResult) -> str:
    """The apportionment result as pretty JSON (amounts in minor units)."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str)


def bill_html(bill: Bill) -> str:
    """One bill as a standalone HTML page in the bill's language."""
    lab = labels(bill.language)
    esc = html.escape
    rows = []
    for line in bill.lines:
        notes = "".join(f"<li>{esc(n)}</li>" for n in line.explanation)
        if line.flags:
            notes += f"<li><b>{esc(', '.join(line.flags))}</b></li>"
        rows.append(
            "<tr>"
            f"<td>{esc(term(bill.language, line.item))}<br>"
            f"<small>{esc(term(bill.language, line.component))}</small>"
            f"{f'<ul>{notes}</ul>' if notes else ''}</td>"
            f"<td>{esc(term(bill.language, line.key))} {esc(line.key_unit)}</td>"
            f"<td class=n>{esc(shown_number(line.unit_key_value))}</td>"
            f"<td class=n>{esc(shown_number(line.total_key_value))}</td>"
            f"<td class=n>{esc(shown_share(line.share))}</td>"
            f"<td class=n>{esc(_money(line.amount_cents, bill.currency))}</td>"
            f"<td><small>{esc(line.legal_basis)}</small></td>"
            "</tr>"
        )
    who = lab["vacancy"] if bill.vacancy else (bill.tenant or "—")
    return (
        f"<!doctype html><html lang={bill.language}><head><meta charset=utf-8>"
        f"<title>{esc(lab['title'])} {esc(bill.unit_id)}</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #999;padding:3px}"
        "table{border-collapse:collapse}.n{text-align:right}</style></head><body>"
        f"<h1>{esc(lab['title'])}</h1>"
        f"<p>{esc(lab['unit'])}: {esc(bill.unit_id)} · {esc(lab['tenant'])}: {esc(who)}<br>"
        f"{esc(lab['period'])}: {bill.period_start} – {bill.period_end} · "
        f"{esc(lab['occupied'])}: {bill.occupied_from} – {bill.occupied_to}</p>"
        f"<table><tr><th>{esc(lab['item'])}</th><th>{esc(lab['key'])}</th>"
        f"<th>{esc(lab['unit_value'])}</th><th>{esc(lab['total_value'])}</th>"
        f"<th>{esc(lab['share'])}</th><th>{esc(lab['amount'])}</th><th>{esc(lab['basis'])}</th>"
        f"</tr>{''.join(rows)}</table>"
        f"<p>{esc(lab['charges'])}: {esc(_money(bill.charges_cents, bill.currency))} "
        f"({esc(lab['vat'])} {esc(_money(bill.vat_cents, bill.currency))})<br>"
        f"{esc(lab['prepayments'])}: {esc(_money(bill.prepayments_cents, bill.currency))}<br>"
        f"<b>{esc(_balance_label(bill, lab))}: "
        f"{esc(_money(abs(bill.balance_cents), bill.currency))}</b></p></body></html>"
    )


def _first_existing(paths: list[str]) -> str | None:
    for p in paths:
        if Path(p).is_file():
            return p
    return None


def bills_pdf(bills: list[Bill] | tuple[Bill, ...]) -> bytes:
    """All bills as one PDF, one page (or more) per bill, each in its own language."""
    from fpdf import FPDF  # imported here: PDF output is optional for the other formats

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    latin = _first_existing(_LATIN_FONTS)
    cjk = None
    if latin:
        pdf.add_font("body", "", latin)
    if any(b.language == "zh" for b in bills):
        cjk = _first_existing(_CJK_FONTS)
        if cjk is None:
            raise RenderError(
                "Chinese PDF needs a CJK font: install fonts-noto-cjk or fonts-droid-fallback"
            )
        pdf.add_font("cjk", "", cjk)
        if latin:
            pdf.set_fallback_fonts(["body"])
    for bill in bills:
        family = "cjk" if bill.language == "zh" else ("body" if latin else "helvetica")
        _bill_page(pdf, bill, family)
    return bytes(pdf.output())


def _bill_page(pdf: Any, bill: Bill, family: str) -> None:
    lab = labels(bill.language)
    pdf.add_page()
    pdf.set_font(family, size=14)
    pdf.multi_cell(0, 8, lab["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    who = lab["vacancy"] if bill.vacancy else (bill.tenant or "—")
    pdf.multi_cell(0, 5, f"{lab['unit']}: {bill.unit_id}   {lab['tenant']}: {who}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, f"{lab['period']}: {bill.period_start} – {bill.period_end}   "
                         f"{lab['occupied']}: {bill.occupied_from} – {bill.occupied_to}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = (62, 32, 22, 24, 20, 30)
    heads = (lab["item"], lab["key"], lab["unit_value"], lab["total_value"], lab["share"],
             lab["amount"])
    for w, h in zip(widths, heads, strict=True):
        pdf.cell(w, 6, h, border=1)
    pdf.ln()
    for line in bill.lines:
        lang = bill.language
        cells = (f"{term(lang, line.item)} – {term(lang, line.component)}",
                 f"{term(lang, line.key)} {line.key_unit}",
                 shown_number(line.unit_key_value), shown_number(line.total_key_value),
                 shown_share(line.share), _money(line.amount_cents, bill.currency))
        for i, (w, text) in enumerate(zip(widths, cells, strict=True)):
            pdf.cell(w, 6, _fit(pdf, text, w - 2), border=1, align="R" if i >= 2 else "L")
        pdf.ln()
    pdf.ln(3)
    pdf.set_font(family, size=10)
    pdf.multi_cell(0, 6, f"{lab['charges']}: {_money(bill.charges_cents, bill.currency)} "
                         f"({lab['vat']} {_money(bill.vat_cents, bill.currency)})",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, f"{lab['prepayments']}: {_money(bill.prepayments_cents, bill.currency)}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, f"{_balance_label(bill, lab)}: "
                         f"{_money(abs(bill.balance_cents), bill.currency)}",
                   new_x="LMARGIN", new_y="NEXT")


def _fit(pdf: Any, text: str, width_mm: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits the cell width."""
    if pdf.get_string_width(text) <= width_mm:
        return text
    while text and pdf.get_string_width(text + "…") > width_mm:
        text = text[:-1]
    return text + "…"


def result_table(result: ApportionResult) -> str:
    """Plain-text table of every party's charges (``--format table``)."""
    head = f"{'party':<28} {'charges':>12} {'prepaid':>12} {'balance':>12}  lines"
    out = [f"{result.building_id} {result.period_start}..{result.period_end} ({result.currency})",
           head, "-" * len(head)]
    for b in result.bills:
        out.append(f"{b.party_id:<28} {cents_str(b.charges_cents):>12} "
                   f"{cents_str(b.prepayments_cents):>12} {cents_str(b.balance_cents):>12}  "
                   f"{len(b.lines)}")
    out.append("")
    out.append(f"{'item':<28} {'total':>12}")
    for it in result.items:
        out.append(f"{it.item_id:<28} {cents_str(it.total_cents):>12}")
    for ll in result.landlord:
        out.append(f"landlord: {ll.description:<40} {cents_str(ll.amount_cents):>12}")
    return "\n".join(out)
