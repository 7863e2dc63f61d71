"""What the portal pages read and write, always within the signed-in tenant's units.

Every function takes the :class:`PortalUser` or a unit already checked
against it (:func:`unit_of`), so a unit outside the tenant's assignments is a
``NotFoundError`` (404, the same answer as a unit that does not exist: the
portal does not confirm that other units exist).

Bills are the electricity bills the API computes (``api.bills.service``),
read here per unit and month; until the ledger's statement of account is
wired in, the balance on the home page is what the latest bill says is due,
due ``PAYMENT_TERM_DAYS`` after the period ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from api.bills.schemas import BuildingBillPublic, UnitBillPublic
from api.bills.service import building_bill
from api.errors import ApiError, NotFoundError
from api.periods import month_period
from api.portal.consumption import add_months, reading_months
from api.portal.i18n import LANGUAGES
from api.portal.identity import PortalUser, authorize_unit
from billing_core.errors import BillingError

PAYMENT_TERM_DAYS = 14
# Units of the electricity bill's allocation keys (billing_core.submetered_electricity).
KEY_UNITS = {"measured_consumption_kwh": "kWh", "living_area_m2": "m²"}
BILL_MONTHS_LISTED = 24
NOTIFY_EVENTS = ("status", "comment", "survey")
OPEN_TICKET_STATUSES = ("open", "approved", "in_progress", "waiting")


@dataclass(frozen=True, slots=True)
class PortalUnit:
    id: int
    code: str
    name: str
    building_id: int
    living_area_m2: Decimal
    time_zone: str
    property_id: int
    property_name: str
    country: str
    currency: str


@dataclass(frozen=True, slots=True)
class PortalBill:
    unit: PortalUnit
    month: str  # YYYY-MM
    first_day: date
    bill: UnitBillPublic
    building: BuildingBillPublic

    @property
    def due_on(self) -> date:
        return add_months(self.first_day, 1) + timedelta(days=PAYMENT_TERM_DAYS - 1)


_UNIT_SQL = """SELECT u.id, u.code, u.name, u.building_id, u.living_area_m2, b.time_zone,
                      p.id, p.name, p.country, p.currency
                 FROM units u JOIN buildings b ON b.id = u.building_id
                 JOIN properties p ON p.id = b.property_id"""


def _unit(row: tuple) -> PortalUnit:
    return PortalUnit(int(row[0]), str(row[1]), str(row[2]), int(row[3]), Decimal(row[4]),
                      str(row[5]), int(row[6]), str(row[7]), str(row[8]), str(row[9]))


def units_of(conn: psycopg.Connection, user: PortalUser) -> list[PortalUnit]:
    rows = conn.execute(_UNIT_SQL + " WHERE u.id = ANY(%s) ORDER BY u.code",
                        (list(user.unit_ids),)).fetchall()
    return [_unit(r) for r in rows]


def unit_of(conn: psycopg.Connection, user: PortalUser, unit_id: int,
            action: str = "bill:read", period: tuple[date, date] | None = None) -> PortalUnit:
    """The unit if the user may do ``action`` on it; otherwise 404, whether it exists or not."""
    authorize_unit(conn, user, unit_id, action, period)
    row = conn.execute(_UNIT_SQL + " WHERE u.id = %s", (unit_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"unit {unit_id} not found")
    return _unit(row)


def bill_for(conn: psycopg.Connection, unit: PortalUnit, month: str) -> PortalBill:
    """The unit's bill of one month; ApiError/BillingError when it cannot be computed.
    The caller has authorized the unit (``unit_of``), which opens its building to the
    transaction: the bill needs the main meter and every unit's share."""
    period = month_period(month, unit.time_zone)
    building = building_bill(conn, unit.building_id, period.start, period.end)
    bill = next((u for u in building.units if u.unit_id == unit.id), None)
    if bill is None:
        raise NotFoundError(f"unit {unit.id} has no electricity bill for {month}")
    return PortalBill(unit, month, period.start.date(), bill, building)


def bills_of(conn: psycopg.Connection, user: PortalUser,
             units: list[PortalUnit]) -> list[PortalBill]:
    """Every month with a computable bill, newest first (a month still missing its
    closing reading has no bill yet and is not listed)."""
    out: list[PortalBill] = []
    for unit in units:
        authorize_unit(conn, user, unit.id, "bill:read")
        months = reading_months(conn, unit.id, unit.time_zone)
        if months is None:
            continue
        first_month, last = months
        span = (last.year - first_month.year) * 12 + last.month - first_month.month + 1
        for back in range(min(span, BILL_MONTHS_LISTED)):
            first = add_months(last, -back)
            try:
                out.append(bill_for(conn, unit, f"{first.year:04d}-{first.month:02d}"))
            except (ApiError, BillingError):
                continue
    return sorted(out, key=lambda b: (b.first_day, b.unit.code), reverse=True)


def open_tickets(conn: psycopg.Connection, user: PortalUser) -> int | None:
    """Open tickets the tenant sees (api/tickets/visibility.py: their own reports and the
    public tickets of their units), or None where the tickets schema is absent."""
    if conn.execute("SELECT to_regclass('tickets')").fetchone() == (None,):
        return None
    row = conn.execute(
        """SELECT count(*) FROM tickets
            WHERE (reporter_user_id = %s OR (unit_id = ANY(%s) AND visibility = 'public'))
              AND status = ANY(%s) AND merged_into IS NULL""",
        (user.user_id, list(user.unit_ids), list(OPEN_TICKET_STATUSES)),
    ).fetchone()
    return int(row[0]) if row else 0


def bank_account(conn: psycopg.Connection, property_id: int) -> tuple[str, str] | None:
    """(IBAN, account holder) of the property's bank account in its ledger, if any."""
    if conn.execute("SELECT to_regclass('ledger_accounts')").fetchone() == (None,):
        return None
    row = conn.execute(
        """SELECT la.iban, coalesce(nullif(la.name, ''), p.name)
             FROM ledger_accounts la JOIN ledgers l ON l.id = la.ledger_id
             JOIN properties p ON p.id = coalesce(la.property_id, l.property_id)
            WHERE la.kind = 'bank' AND la.iban IS NOT NULL AND p.id = %s
            ORDER BY la.id LIMIT 1""",
        (property_id,),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None


def notification_prefs(conn: psycopg.Connection, email: str) -> dict[str, bool] | None:
    """Ticket e-mail preferences (no row = wanted), or None without the tickets schema."""
    if conn.execute("SELECT to_regclass('ticket_notification_prefs')").fetchone() == (None,):
        return None
    rows = conn.execute(
        "SELECT event, enabled FROM ticket_notification_prefs WHERE lower(email) = lower(%s)",
        (email,),
    ).fetchall()
    stored = {str(e): bool(v) for e, v in rows}
    return {event: stored.get(event, True) for event in NOTIFY_EVENTS}


def save_profile(conn: psycopg.Connection, user: PortalUser, language: str | None,
                 notify: dict[str, bool] | None) -> None:
    """Language on the tenant record; notification choices as per-event rows."""
    with conn.transaction():
        if language is not None and language in LANGUAGES and user.tenant_id is not None:
            conn.execute("UPDATE tenants SET language = %s WHERE id = %s",
                         (language, user.tenant_id))
        if notify is not None and notification_prefs(conn, user.email) is not None:
            for event in NOTIFY_EVENTS:
                conn.execute(
                    """INSERT INTO ticket_notification_prefs (email, event, enabled)
                       VALUES (lower(%s), %s, %s)
                       ON CONFLICT (email, event) DO UPDATE SET enabled = EXCLUDED.enabled""",
                    (user.email, event, notify.get(event, False)),
                )
