"""A portal bill as PDF, through the bills issue's renderer (``billing_core.bill_render``).

The electricity bill the API computes (``UnitBillPublic``) becomes a
``billing_core.bill.Bill`` with the same lines, so the PDF and the page show
the same amounts to the cent.  Item and key names are given already in the
tenant's language (the renderer prints custom labels as given); a line's
share is the exact fraction ``unit value / total value`` that the renderer
shows as a percentage.  The period end is the month's last day, inclusive,
as statements print it.
"""

from __future__ import annotations

from datetime import timedelta

from api.portal.consumption import add_months
from api.portal.i18n import Translator
from api.portal.service import KEY_UNITS, PortalBill
from billing_core.bill import Bill, BillLine
from billing_core.bill_render import bills_pdf


def as_bill(b: PortalBill, t: Translator, tenant_name: str | None) -> Bill:
    item_totals = {c.item: c.total_cents for c in b.building.costs}
    last_day = add_months(b.first_day, 1) - timedelta(days=1)
    lines = tuple(
        BillLine(
            item_id=line.item, item=t(f"bills.item.{line.item}"), component="",
            key=t(f"bills.key.{line.key}"), key_unit=KEY_UNITS.get(line.key, ""),
            unit_key_value=str(line.unit_key_value), total_key_value=str(line.total_key_value),
            share=f"{line.unit_key_value}/{line.total_key_value}" if line.total_key_value else "",
            item_total_cents=item_totals[line.item], amount_cents=line.amount_cents,
            explanation=(line.explanation,) if line.explanation else (),
        )
        for line in b.bill.lines
    )
    return Bill(party_id=f"unit-{b.unit.id}", unit_id=b.unit.code, tenant=tenant_name,
                language=t.language, currency=b.bill.currency, period_start=b.first_day,
                period_end=last_day, occupied_from=b.first_day, occupied_to=last_day,
                lines=lines, prepayments_cents=0)


def bill_pdf(b: PortalBill, t: Translator, tenant_name: str | None) -> bytes:
    """The PDF bytes; ``billing_core.bill_render.RenderError`` when Chinese lacks a CJK font."""
    return bills_pdf([as_bill(b, t, tenant_name)])
