"""The tenant portal's HTML pages under ``/portal``.

Every route but the sign-in page depends on
:func:`api.portal.identity.current_portal_user` (a live identity session,
bound for row-level security) and checks each unit with the API's permission
table: another unit's bill URL answers 404 like a unit that does not exist.
Forms post with a CSRF token.  Pages are rendered on the server in the
user's language (``?lang=`` → profile → Accept-Language), with no script.
"""

from __future__ import annotations

import csv
import hmac
import io
import secrets
import uuid
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from api.auth import sessions
from api.auth.errors import AccountLockedError, AuthenticationError, SecondFactorRequired
from api.auth.tokens import decode_access_token
from api.deps import Context, TxConn
from api.errors import NotFoundError
from api.portal import charts, payment_info, service
from api.portal.bill_pdf import bill_pdf as bill_pdf_bytes
from api.portal.consumption import MeterSeries, add_months, unit_series
from api.portal.i18n import LANGUAGES, Translator, choose_language
from api.portal.identity import (
    CurrentPortalUser,
    PortalUser,
    clear_session_cookie,
    csrf_token,
    csrf_valid,
    is_https,
    session_key,
    set_session_cookie,
)
from api.portal.rendering import STATIC_DIR, render, secure

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)

# Without a session: the sign-in form (it is how one gets one) and the stylesheet.
PUBLIC_PORTAL_ROUTES = frozenset({"/portal/login", "/portal/static/portal.css"})


def _translator(request: Request, user: PortalUser) -> Translator:
    return Translator(choose_language(request.query_params.get("lang"), user.language,
                                      request.headers.get("accept-language")))


def _csrf(request: Request, user: PortalUser) -> str:
    return csrf_token(session_key(request.app.state.api_token.get_secret_value()),
                      user.session_id)


def _expensive(request: Request, user: PortalUser) -> None:
    """Pages that compute bills share the API's limit for expensive requests
    (``AuthSettings.expensive_per_window``), per user and per address."""
    limiter = request.app.state.expensive_limiter
    limiter.hit(("principal", "user", user.user_id), "requests to expensive routes")
    client = request.client.host if request.client else ""
    limiter.hit(("address", client), "requests to expensive routes from this address")


def _not_found(request: Request, user: PortalUser, t: Translator) -> Response:
    return render(request, "error.html", t, active="", title=t("error.not_found"),
                  csrf=_csrf(request, user), status_code=404, message=t("error.not_found_text"))


def _month_key(first_day: date) -> str:
    return f"{first_day.year:04d}-{first_day.month:02d}"


@router.get("/")
def home(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    _expensive(request, user)
    units = service.units_of(conn, user)
    bills = service.bills_of(conn, user, units)
    latest = bills[0] if bills else None
    return render(request, "home.html", t, active="home",
                  title=t("home.greeting", name=user.display_name), csrf=_csrf(request, user),
                  units=units, latest=latest, open_tickets=service.open_tickets(conn, user))


def _chart(t: Translator, series: MeterSeries) -> Markup:
    months = [t.month_short(m.month) for m in series.months]
    medium = t(f"medium.{series.medium}")
    return charts.bar_chart_svg(
        chart_id=f"chart-{series.meter_serial}",
        title=t("consumption.chart_title", medium=medium, serial=series.meter_serial,
                unit=series.physical_unit),
        description=t("consumption.chart_desc", months=len(months)),
        categories=months,
        series=[
            charts.Series(t("consumption.this_year"),
                          tuple(m.consumption for m in series.months)),
            charts.Series(t("consumption.last_year"), tuple(m.last_year for m in series.months)),
            charts.Series(t("consumption.building_avg"),
                          tuple(m.building_avg for m in series.months)),
        ],
        unit=series.physical_unit,
        fmt=lambda v: t.number(v, 1),
        bar_label=lambda s, month, value: t("consumption.bar_label", series=s, month=month,
                                           value=value, unit="").strip(),
        no_value=t("consumption.no_value"),
    )


@router.get("/consumption")
def consumption(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    meters = []
    for unit in service.units_of(conn, user):
        service.unit_of(conn, user, unit.id, "consumption:read")
        for series in unit_series(conn, unit.id, unit.time_zone):
            meters.append((unit, series, _chart(t, series)))
    return render(request, "consumption.html", t, active="consumption",
                  title=t("consumption.title"), csrf=_csrf(request, user), meters=meters)


def _plain(value: Decimal | None, places: int = 3) -> str:
    if value is None:
        return ""
    return str(value.quantize(Decimal(1).scaleb(-places)))


@router.get("/consumption.csv")
def consumption_csv(conn: TxConn, user: CurrentPortalUser) -> Response:
    """Language-neutral CSV (RFC 4180, ``.`` decimals, ISO months) for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["unit", "meter_serial", "medium", "register", "physical_unit", "month",
                     "consumption", "same_month_last_year", "building_average_area_normalized"])
    for unit in service.units_of(conn, user):
        service.unit_of(conn, user, unit.id, "consumption:read")
        for series in unit_series(conn, unit.id, unit.time_zone):
            for m in series.months:
                writer.writerow([unit.code, series.meter_serial, series.medium, series.register,
                                 series.physical_unit, _month_key(m.month),
                                 _plain(m.consumption), _plain(m.last_year),
                                 _plain(m.building_avg)])
    response = Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="consumption.csv"'})
    return secure(response)


@router.get("/bills")
def bills(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    _expensive(request, user)
    return render(request, "bills.html", t, active="bills", title=t("bills.title"),
                  csrf=_csrf(request, user),
                  bills=service.bills_of(conn, user, service.units_of(conn, user)))


@router.get("/bills/{unit_id}/{month}")
def bill_detail(unit_id: int, month: str, request: Request, conn: TxConn,
                user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    _expensive(request, user)
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        return _not_found(request, user, t)
    try:
        # A tenant who moved out keeps their past statements (api.permissions.PAST_ACTIONS).
        unit = service.unit_of(conn, user, unit_id, "bill:read",
                               period=(first, add_months(first, 1) - timedelta(days=1)))
        bill = service.bill_for(conn, unit, month)
    except NotFoundError:
        return _not_found(request, user, t)
    item_totals = {c.item: c.total_cents for c in bill.building.costs}
    return render(request, "bill_detail.html", t, active="bills",
                  title=t("bills.detail_title", month=t.month(bill.first_day)),
                  csrf=_csrf(request, user), b=bill, item_totals=item_totals,
                  key_units=service.KEY_UNITS)


@router.get("/bills/{unit_id}/{month}/pdf")
def bill_pdf(unit_id: int, month: str, request: Request, conn: TxConn,
             user: CurrentPortalUser) -> Response:
    """The same bill as PDF (the bills issue's renderer), in the page's language."""
    t = _translator(request, user)
    _expensive(request, user)
    try:
        first = date.fromisoformat(f"{month}-01")
        unit = service.unit_of(conn, user, unit_id, "bill:read",
                               period=(first, add_months(first, 1) - timedelta(days=1)))
        bill = service.bill_for(conn, unit, month)
    except (ValueError, NotFoundError):
        return _not_found(request, user, t)
    body = bill_pdf_bytes(bill, t, user.display_name)
    return secure(Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="bill-{unit.code}-{month}.pdf"'}))


@router.get("/payments")
def payments(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    _expensive(request, user)
    units = service.units_of(conn, user)
    due = [b for b in service.bills_of(conn, user, units) if b.bill.total_cents > 0]
    latest = due[0] if due else None
    how = qr = None
    if latest is not None:
        account = service.bank_account(conn, latest.unit.property_id)
        reference = payment_info.bill_reference(latest.unit.id, latest.month)
        how = payment_info.instructions(
            recipient=account[1] if account else latest.unit.property_name,
            iban=account[0] if account else None, amount_cents=latest.bill.total_cents,
            currency=latest.bill.currency, reference=reference, country=latest.unit.country)
        if how.epc_payload:
            qr = payment_info.epc_qr_svg(how.epc_payload, label=t(
                "payments.qr_label", amount=t.money(how.amount_cents, how.currency),
                name=how.recipient, reference=how.reference))
    return render(request, "payments.html", t, active="payments", title=t("payments.title"),
                  csrf=_csrf(request, user), latest=latest, how=how, qr=qr)


@router.get("/profile")
def profile(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    t = _translator(request, user)
    return render(request, "profile.html", t, active="profile", title=t("profile.title"),
                  csrf=_csrf(request, user), user=user,
                  prefs=service.notification_prefs(conn, user.email),
                  saved=request.query_params.get("saved") == "1")


async def _form(request: Request) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` fields (last value wins)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _csrf_failed(request: Request, user: PortalUser, t: Translator) -> Response:
    return render(request, "error.html", t, active="", title=t("error.csrf"),
                  csrf=_csrf(request, user), status_code=403, message=t("error.csrf"))


@router.post("/profile")
async def save_profile(request: Request, conn: TxConn, user: CurrentPortalUser) -> Response:
    form = await _form(request)
    t = _translator(request, user)
    if not csrf_valid(request, user, form.get("csrf_token")):
        return _csrf_failed(request, user, t)
    language = form.get("language")
    notify = {event: form.get(f"notify_{event}") == "on" for event in service.NOTIFY_EVENTS}
    service.save_profile(conn, user, language if language in LANGUAGES else None, notify)
    return secure(RedirectResponse("/portal/profile?saved=1", status_code=303))


@router.post("/logout")
async def logout(request: Request, conn: TxConn, user: CurrentPortalUser,
                 ctx: Context) -> Response:
    """This session, or every session of the user (also their API tokens)."""
    form = await _form(request)
    if not csrf_valid(request, user, form.get("csrf_token")):
        return _csrf_failed(request, user, _translator(request, user))
    sessions.logout(conn, user.principal, form.get("everywhere") == "1", ctx)
    response = RedirectResponse("/portal/login", status_code=303)
    clear_session_cookie(response, request)
    return secure(response)


LOGIN_CSRF_COOKIE = "mb_portal_login"


def _anonymous_translator(request: Request) -> Translator:
    return Translator(choose_language(request.query_params.get("lang"), None,
                                      request.headers.get("accept-language")))


def _login_page(request: Request, t: Translator, error: str | None,
                status_code: int = 200) -> Response:
    # Keep a token the browser already holds: two tabs (or a re-render after a wrong
    # password) must not invalidate each other's forms.
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = held if len(held) == 43 else secrets.token_urlsafe(32)
    response = render(request, "login.html", t, active="", title=t("login.title"), csrf="",
                      login_csrf=token, error=error, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/portal/login",
                        secure=is_https(request), httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form (public: it is how one gets a credential)."""
    return _login_page(request, _anonymous_translator(request), None)


@router.post("/login")
async def login(request: Request, ctx: Context) -> Response:
    """E-mail, password and (when enrolled) a TOTP code through the identity issue's login:
    the same lockout, rate limit and audit log as ``POST /auth/login``."""
    t = _anonymous_translator(request)
    form = await _form(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf_token", "")):
        return _login_page(request, t, t("error.csrf"), status_code=403)
    email = form.get("email", "").strip()
    limiter = request.app.state.login_limiter
    limiter.hit(("address", ctx.source_address), "login attempts from this address")
    limiter.hit(("email", email.lower()), "login attempts for this account")
    settings = request.app.state.auth_settings
    try:
        with request.app.state.pool.connection() as conn:
            pair = sessions.login(conn, settings, email, form.get("password", ""),
                                  form.get("totp_code") or None, None, ctx)
    except SecondFactorRequired:
        return _login_page(request, t, t("login.needs_code"), status_code=401)
    except AccountLockedError:
        return _login_page(request, t, t("login.locked"), status_code=401)
    except AuthenticationError:
        return _login_page(request, t, t("login.failed"), status_code=401)
    session_id = uuid.UUID(decode_access_token(settings, pair.access_token).session_id)
    response = RedirectResponse("/portal/", status_code=303)
    set_session_cookie(response, request, session_id)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/portal/login")
    return secure(response)


@router.get("/static/portal.css")
def stylesheet() -> Response:
    """Public like any stylesheet: it holds no data, and the sign-in page needs it.
    Read once per process (a few kB) and sent whole, cacheable for an hour."""
    return Response(_stylesheet(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


@cache
def _stylesheet() -> bytes:
    return (STATIC_DIR / "portal.css").read_bytes()
