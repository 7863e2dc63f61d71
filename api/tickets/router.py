"""Routes for tickets: a thin layer over :mod:`api.tickets.service`.

Identity: every route takes the caller through :func:`ticket_actor`, which
depends on ``api.deps.StaffUser`` (the identity dependency) and turns the
principal into an :class:`~api.tickets.actor.Actor`.  It reads both shapes of
principal: the token-only ``Principal(name, role)`` and the identity issue's
principal with scoped ``assignments``.  Object-level decisions (404 outside
scope, 403 for a wrong action) are the ticket service's.

``provider_link_router`` is for providers without an account: the signed link
token (header ``X-Ticket-Link``) is the credential, like an invitation token.
The permission-table entries for both routers are in
:mod:`api.tickets.route_permissions`.
Mails are sent after the response, from a background task.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response

from api.deps import DbConn, StaffUser
from api.errors import ForbiddenError, InvalidRequestError
from api.tickets import email_replies, provider_links, service
from api.tickets.actor import Actor, Grant
from api.tickets.notifications import Mail, TicketEvent, record_failures, send
from api.tickets.schemas import (
    AssignmentUpdate,
    AttachmentPublic,
    CategoryCreate,
    CategoryPublic,
    CommentCreate,
    CommentPublic,
    MergeRequest,
    PreferenceUpdate,
    PropertyTicketSettings,
    ProviderCreate,
    ProviderPublic,
    RoutingRuleSet,
    StatusChange,
    SurveyCreate,
    SurveyPublic,
    TicketCreate,
    TicketDetail,
    TicketPublic,
    WatchCreate,
)
from api.tickets.settings import TicketSettings
from api.tickets.sla import Clock, utc_now

router = APIRouter(tags=["tickets"])
provider_link_router = APIRouter(prefix="/provider-link", tags=["tickets"])

# identity's role names -> ours
_ROLE_NAMES = {"advisory_board_member": "advisory_board"}


def actor_from_principal(conn: psycopg.Connection, principal: Any) -> Actor:
    """Adapter from whatever ``api.deps`` authenticates to the ticket service's Actor."""
    assignments = getattr(principal, "assignments", None)
    if assignments is None:  # token-only principal: one role, everywhere
        return Actor(None, (Grant(_ROLE_NAMES.get(principal.role, principal.role)),),
                     name=str(principal.name))
    grants = []
    today = datetime.now().date()
    for a in assignments:
        if hasattr(a, "valid_on") and not a.valid_on(today):
            continue
        role = _ROLE_NAMES.get(a.role, a.role)
        if a.unit_id is not None:
            grants.append(Grant(role, "unit", a.unit_id))
        elif a.building_id is not None:
            grants.append(Grant(role, "building", a.building_id))
        elif a.property_id is not None:
            grants.append(Grant(role, "property", a.property_id))
        else:
            grants.append(Grant(role))
    user_id = principal.id if getattr(principal, "kind", "user") == "user" else None
    provider_id = None
    email = None
    if user_id is not None:
        row = conn.execute("SELECT provider_id FROM ticket_provider_users WHERE user_id = %s "
                           "ORDER BY provider_id LIMIT 1", (user_id,)).fetchone()
        provider_id = int(row[0]) if row else None
        email = _user_email(conn, user_id)
    return Actor(user_id, tuple(grants), name=str(principal.label), email=email,
                 provider_id=provider_id)


def _user_email(conn: psycopg.Connection, user_id: int) -> str | None:
    """The account's address from identity's ``users`` table, when that table exists."""
    exists = conn.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)).fetchone()
    return str(row[0]) if row and row[0] else None


def ticket_actor(conn: DbConn, principal: StaffUser) -> Actor:
    return actor_from_principal(conn, principal)


def ticket_settings(request: Request) -> TicketSettings:
    settings = getattr(request.app.state, "ticket_settings", None)
    if settings is None:
        settings = TicketSettings()
        request.app.state.ticket_settings = settings
    return settings  # type: ignore[no-any-return]


def ticket_clock(request: Request) -> Clock:
    return getattr(request.app.state, "ticket_clock", utc_now)  # type: ignore[no-any-return]


TicketActor = Annotated[Actor, Depends(ticket_actor)]
Settings = Annotated[TicketSettings, Depends(ticket_settings)]
ClockDep = Annotated[Clock, Depends(ticket_clock)]


def _deliver(pool: Any, settings: TicketSettings, mails: list[Mail], clock: Clock) -> None:
    failed = send(settings, mails, clock())
    if failed:
        with pool.connection() as conn:
            record_failures(conn, failed)


def _notify(request: Request, tasks: BackgroundTasks, conn: psycopg.Connection,
            settings: TicketSettings, clock: Clock, events: list[TicketEvent]) -> None:
    mails = service.mails_for(conn, settings, events, clock=clock)
    if mails:
        tasks.add_task(_deliver, request.app.state.pool, settings, mails, clock)


@router.post("/tickets", status_code=201)
def create_ticket(data: TicketCreate, request: Request, tasks: BackgroundTasks, conn: DbConn,
                  actor: TicketActor, settings: Settings, clock: ClockDep) -> TicketPublic:
    ticket, events = service.create_ticket(conn, actor, data, clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return ticket


@router.get("/tickets")
def list_tickets(conn: DbConn, actor: TicketActor, status: str | None = None,
                 building_id: int | None = None) -> list[TicketPublic]:
    return service.list_tickets(conn, actor, status=status, building_id=building_id)


@router.get("/tickets/{ticket_id}")
def read_ticket(ticket_id: int, conn: DbConn, actor: TicketActor) -> TicketDetail:
    return service.get_ticket(conn, actor, ticket_id)


@router.post("/tickets/{ticket_id}/status")
def change_status(ticket_id: int, data: StatusChange, request: Request, tasks: BackgroundTasks,
                  conn: DbConn, actor: TicketActor, settings: Settings,
                  clock: ClockDep) -> TicketPublic:
    ticket, events = service.change_status(conn, actor, ticket_id, data.status, data.comment,
                                           clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return ticket


@router.post("/tickets/{ticket_id}/comments", status_code=201)
def add_comment(ticket_id: int, data: CommentCreate, request: Request, tasks: BackgroundTasks,
                conn: DbConn, actor: TicketActor, settings: Settings,
                clock: ClockDep) -> CommentPublic:
    comment, events = service.add_comment(conn, actor, ticket_id, data.body,
                                          internal=data.internal, clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return comment


@router.post("/tickets/{ticket_id}/assignment")
def assign(ticket_id: int, data: AssignmentUpdate, request: Request, tasks: BackgroundTasks,
           conn: DbConn, actor: TicketActor, settings: Settings, clock: ClockDep) -> TicketPublic:
    ticket, events = service.assign(conn, actor, ticket_id, data, clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return ticket


@router.post("/tickets/{ticket_id}/watchers", status_code=204)
def watch(ticket_id: int, data: WatchCreate, conn: DbConn, actor: TicketActor) -> None:
    service.watch(conn, actor, ticket_id, data.email)


@router.put("/ticket-notification-prefs", status_code=204)
def set_preference(data: PreferenceUpdate, conn: DbConn, actor: TicketActor) -> None:
    service.set_preference(conn, actor, data.email, data.event, data.enabled)


@router.post("/tickets/{ticket_id}/merge")
def merge(ticket_id: int, data: MergeRequest, conn: DbConn, actor: TicketActor,
          clock: ClockDep) -> TicketPublic:
    return service.merge(conn, actor, ticket_id, data.into_ticket_id, clock=clock)


@router.post("/tickets/{ticket_id}/survey", status_code=201)
def survey(ticket_id: int, data: SurveyCreate, conn: DbConn, actor: TicketActor,
           clock: ClockDep) -> SurveyPublic:
    return service.submit_survey(conn, actor, ticket_id, data.rating, data.comment, clock=clock)


@router.post("/tickets/{ticket_id}/attachments", status_code=201)
async def upload(ticket_id: int, request: Request, conn: DbConn, actor: TicketActor,
                 settings: Settings, clock: ClockDep,
                 filename: Annotated[str, Query(max_length=200)] = "") -> AttachmentPublic:
    """The file is the raw request body (no multipart parser needed); its type is sniffed."""
    data = await _bounded_body(request, max(settings.max_image_bytes,
                                            settings.max_document_bytes))
    return service.add_attachment(conn, actor, settings, ticket_id, data, filename, clock=clock)


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def download(ticket_id: int, attachment_id: int, conn: DbConn, actor: TicketActor,
             settings: Settings) -> Response:
    data, media_type, _name = service.read_attachment(conn, actor, settings, ticket_id,
                                                      attachment_id)
    return _file_response(data, media_type, attachment_id)


@router.get("/properties/{property_id}/ticket-categories")
def list_categories(property_id: int, conn: DbConn, actor: TicketActor) -> list[CategoryPublic]:
    return service.list_categories(conn, actor, property_id)


@router.post("/properties/{property_id}/ticket-categories", status_code=201)
def create_category(property_id: int, data: CategoryCreate, conn: DbConn,
                    actor: TicketActor) -> CategoryPublic:
    return service.create_category(conn, actor, property_id, data.name)


@router.post("/ticket-providers", status_code=201)
def create_provider(data: ProviderCreate, conn: DbConn, actor: TicketActor) -> ProviderPublic:
    return service.create_provider(conn, actor, data)


@router.put("/properties/{property_id}/ticket-routing", status_code=204)
def set_routing(property_id: int, data: RoutingRuleSet, conn: DbConn,
                actor: TicketActor) -> None:
    service.set_routing_rule(conn, actor, property_id, data)


@router.put("/properties/{property_id}/ticket-settings", status_code=204)
def set_property_settings(property_id: int, data: PropertyTicketSettings, conn: DbConn,
                          actor: TicketActor) -> None:
    """Escalation address and the arrears rule (off by default) of one property."""
    service.set_property_settings(conn, actor, property_id, manager_email=data.manager_email,
                                  arrears_flag_enabled=data.arrears_flag_enabled)


@router.get("/properties/{property_id}/ticket-metrics")
def metrics(property_id: int, conn: DbConn, actor: TicketActor, clock: ClockDep,
            by: str = "category") -> dict[str, Any]:
    return service.dashboard(conn, actor, property_id, by, clock())


@router.post("/ticket-sla/escalations")
def escalate(request: Request, tasks: BackgroundTasks, conn: DbConn, actor: TicketActor,
             settings: Settings, clock: ClockDep) -> dict[str, int]:
    """Run the escalation check now (a periodic job calls the same service function)."""
    if "admin" not in actor.roles:
        raise ForbiddenError("only an admin runs the escalation check for every property")
    events = service.escalate_breaches(conn, clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return {"escalated": len(events)}


@router.post("/ticket-mail/inbound", status_code=201)
async def inbound_mail(request: Request, tasks: BackgroundTasks, conn: DbConn,
                       actor: TicketActor, settings: Settings, clock: ClockDep) -> CommentPublic:
    """The mail server hands over a reply (raw RFC 5322 bytes) to thread into its ticket.

    Only an installation admin (in practice the mail server's API key) may call it:
    the sender address in the mail is trusted here, so no resident may post one.
    """
    if "admin" not in actor.roles:
        raise ForbiddenError("only the mail gateway (an admin key) may hand over mail")
    raw = await _bounded_body(request, 1_048_576)
    reply = email_replies.parse_inbound(conn, settings, raw)
    comment, events = service.thread_reply(conn, reply.sender, reply.ticket_id, reply.body,
                                           clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return comment


# --- provider links ------------------------------------------------------------------------

def link_conn(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        yield conn


LinkConn = Annotated[psycopg.Connection, Depends(link_conn)]


def provider_link_actor(conn: LinkConn, settings: Settings, clock: ClockDep,
                        x_ticket_link: Annotated[str, Header()]) -> tuple[Actor, int]:
    """Identity of a provider link: the verified token's provider, for its one ticket."""
    claims = provider_links.verify(settings.link_secret, x_ticket_link, clock())
    return service.provider_actor(conn, claims.provider_id), claims.ticket_id


LinkActor = Annotated[tuple[Actor, int], Depends(provider_link_actor)]


@provider_link_router.get("/ticket")
def link_ticket(conn: LinkConn, link: LinkActor) -> TicketDetail:
    actor, ticket_id = link
    return service.get_ticket(conn, actor, ticket_id)


@provider_link_router.post("/ticket/status")
def link_status(data: StatusChange, request: Request, tasks: BackgroundTasks, conn: LinkConn,
                link: LinkActor, settings: Settings, clock: ClockDep) -> TicketPublic:
    actor, ticket_id = link
    ticket, events = service.change_status(conn, actor, ticket_id, data.status, data.comment,
                                           clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return ticket


@provider_link_router.post("/ticket/attachments", status_code=201)
async def link_upload(request: Request, conn: LinkConn, link: LinkActor, settings: Settings,
                      clock: ClockDep,
                      filename: Annotated[str, Query(max_length=200)] = "") -> AttachmentPublic:
    actor, ticket_id = link
    data = await _bounded_body(request, max(settings.max_image_bytes,
                                            settings.max_document_bytes))
    return service.add_attachment(conn, actor, settings, ticket_id, data, filename, clock=clock)


@provider_link_router.post("/ticket/comments", status_code=201)
def link_comment(data: CommentCreate, request: Request, tasks: BackgroundTasks,
                 conn: LinkConn, link: LinkActor, settings: Settings,
                 clock: ClockDep) -> CommentPublic:
    actor, ticket_id = link
    comment, events = service.add_comment(conn, actor, ticket_id, data.body,
                                          internal=data.internal, clock=clock)
    _notify(request, tasks, conn, settings, clock, events)
    return comment


# --- helpers -------------------------------------------------------------------------------

async def _bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing once it passes the largest limit (no unbounded buffering)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InvalidRequestError(f"upload of {declared} bytes exceeds the limit of {limit} "
                                  "bytes", field="file")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidRequestError(f"upload exceeds the limit of {limit} bytes", field="file")
        chunks.append(chunk)
    return b"".join(chunks)


def _file_response(data: bytes, media_type: str, attachment_id: int) -> Response:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
           "application/pdf": "pdf"}.get(media_type, "bin")
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="attachment-{attachment_id}.{ext}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })
