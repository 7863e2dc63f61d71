"""Ticket rules and queries; routes stay a few lines and call these.

Every function takes the caller as an :class:`~api.tickets.actor.Actor` and
decides with :mod:`api.tickets.visibility`: a ticket the caller may not see is
"not found" (404), an action they may not take on a visible one is 403.
Writes run in one transaction and record who did what in ``ticket_history``.
Functions that cause notifications return :class:`TicketEvent` objects; the
caller turns them into mails after the commit (:func:`mails_for`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.errors import ConflictError, ForbiddenError, InvalidRequestError, NotFoundError
from api.tickets import attachments as files
from api.tickets import duplicates, metrics, notifications, sla, workflow
from api.tickets.actor import (
    MANAGER_ROLES,
    RESIDENT_ROLES,
    STAFF_ROLES,
    SYSTEM,
    Actor,
    Grant,
    Place,
    ResolvedActor,
    resolve,
)
from api.tickets.arrears import ledger_arrears
from api.tickets.notifications import Mail, TicketEvent
from api.tickets.schemas import (
    AssignmentUpdate,
    AttachmentPublic,
    CategoryPublic,
    CommentPublic,
    HistoryEntryPublic,
    ProviderCreate,
    ProviderPublic,
    RoutingRuleSet,
    SurveyPublic,
    TicketCreate,
    TicketDetail,
    TicketPublic,
)
from api.tickets.settings import TicketSettings
from api.tickets.sla import Clock, utc_now
from api.tickets.visibility import TicketFacts, View, view_of

DEFAULT_CATEGORY = "General"
ArrearsLookup = Callable[[psycopg.Connection, Actor, int], bool]
"""(conn, reporter, building_id) -> True when the reporter is in arrears.

The default asks the ledger (:func:`api.tickets.arrears.ledger_arrears`); the
rule is off by default per property and only ever flags, never refuses.
"""


@dataclass(frozen=True, slots=True)
class Seen:
    row: dict[str, Any]
    view: View


_TICKET_SQL = """SELECT t.*, c.name AS category FROM tickets t
                   JOIN ticket_categories c ON c.id = t.category_id"""


def _facts(row: dict[str, Any]) -> TicketFacts:
    return TicketFacts(Place(row["property_id"], row["building_id"], row["unit_id"]),
                       row["visibility"], row["anonymous"], row["reporter_user_id"],
                       row["provider_id"])


def _see(conn: psycopg.Connection, who: ResolvedActor, ticket_id: int,
         *, lock: bool = False) -> Seen:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_TICKET_SQL + " WHERE t.id = %s" + (" FOR UPDATE OF t" if lock else ""),
                          (ticket_id,)).fetchone()
    view = view_of(who, _facts(row)) if row else None
    if row is None or view is None:
        raise NotFoundError(f"ticket {ticket_id} not found", field="ticket_id")
    return Seen(row, view)


def _public(row: dict[str, Any], view: View) -> TicketPublic:
    show_reporter = view.show_reporter(row["anonymous"])
    return TicketPublic(
        id=row["id"], property_id=row["property_id"], building_id=row["building_id"],
        unit_id=row["unit_id"], common_area=row["common_area"], category_id=row["category_id"],
        category=row["category"], title=row["title"], description=row["description"],
        priority=row["priority"], status=row["status"],
        status_label_de=workflow.STATUS_LABELS_DE[row["status"]],
        visibility=row["visibility"], anonymous=row["anonymous"],
        reporter_user_id=row["reporter_user_id"] if show_reporter else None,
        reporter_name=row["reporter_name"] if show_reporter else None,
        provider_id=row["provider_id"], assignee_user_id=row["assignee_user_id"],
        merged_into=row["merged_into"],
        arrears_flag=row["arrears_flag"] if view.is_staff else None,
        created_at=row["created_at"],
        next_states=workflow.next_states(row["status"], view.roles),
    )


def _history(conn: psycopg.Connection, ticket_id: int, at: datetime, kind: str, actor: Actor,
             role: str, *, from_status: str | None = None, to_status: str | None = None,
             comment: str = "") -> None:
    conn.execute(
        """INSERT INTO ticket_history (ticket_id, at, kind, actor_user_id, actor_role,
                                       actor_label, from_status, to_status, comment)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (ticket_id, at, kind, actor.user_id, role, actor.label, from_status, to_status, comment))


def _acting_role(view: View) -> str:
    """The role recorded in history: the most specific one the caller acts in."""
    for role in ("admin", "property_manager", "caretaker", "system", "service_provider",
                 "reporter", "advisory_board", "resident"):
        if role in view.roles:
            return role
    return sorted(view.roles)[0]


# --- categories, providers, rules -------------------------------------------------------

def _reach_property(conn: psycopg.Connection, who: ResolvedActor, property_id: int, *,
                    manage: bool) -> None:
    if conn.execute("SELECT 1 FROM properties WHERE id = %s", (property_id,)).fetchone() is None:
        # an installation-wide grant reaches every id, existing or not
        raise NotFoundError(f"property {property_id} not found", field="property_id")
    for rg in who.grants:
        roles = MANAGER_ROLES if manage else (STAFF_ROLES | RESIDENT_ROLES | {"advisory_board"})
        if rg.grant.role in roles and (rg.place is None or rg.place.property_id == property_id):
            return
    if manage and any(rg.place is None or rg.place.property_id == property_id
                      for rg in who.grants):
        raise ForbiddenError(f"only a property manager may change property {property_id}")
    raise NotFoundError(f"property {property_id} not found", field="property_id")


def ensure_default_category(conn: psycopg.Connection, property_id: int) -> int:
    """The property's 'General' category, created on first use."""
    row = conn.execute(
        """INSERT INTO ticket_categories (property_id, name) VALUES (%s, %s)
           ON CONFLICT (property_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
        (property_id, DEFAULT_CATEGORY)).fetchone()
    assert row is not None
    return int(row[0])


def list_categories(conn: psycopg.Connection, actor: Actor,
                    property_id: int) -> list[CategoryPublic]:
    _reach_property(conn, resolve(conn, actor), property_id, manage=False)
    ensure_default_category(conn, property_id)
    rows = conn.execute("SELECT id, property_id, name FROM ticket_categories "
                        "WHERE property_id = %s ORDER BY name <> %s, name",
                        (property_id, DEFAULT_CATEGORY)).fetchall()
    return [CategoryPublic(id=r[0], property_id=r[1], name=r[2]) for r in rows]


def create_category(conn: psycopg.Connection, actor: Actor, property_id: int,
                    name: str) -> CategoryPublic:
    _reach_property(conn, resolve(conn, actor), property_id, manage=True)
    try:
        row = conn.execute("INSERT INTO ticket_categories (property_id, name) VALUES (%s, %s) "
                           "RETURNING id", (property_id, name.strip())).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ConflictError(f"category {name!r} exists for property {property_id}",
                            field="name") from exc
    assert row is not None
    return CategoryPublic(id=row[0], property_id=property_id, name=name.strip())


def create_provider(conn: psycopg.Connection, actor: Actor, data: ProviderCreate) -> ProviderPublic:
    who = resolve(conn, actor)
    if data.property_id is None:
        if not any(rg.grant.role == "admin" for rg in who.grants):
            raise ForbiddenError("only an admin may add a provider for every property")
    else:
        _reach_property(conn, who, data.property_id, manage=True)
    row = conn.execute("INSERT INTO ticket_providers (property_id, name, email) "
                       "VALUES (%s, %s, %s) RETURNING id",
                       (data.property_id, data.name, data.email)).fetchone()
    assert row is not None
    return ProviderPublic(id=row[0], name=data.name, email=data.email,
                          property_id=data.property_id)


def set_routing_rule(conn: psycopg.Connection, actor: Actor, property_id: int,
                     rule: RoutingRuleSet) -> None:
    _reach_property(conn, resolve(conn, actor), property_id, manage=True)
    if rule.category_id is not None:
        _category_of(conn, property_id, rule.category_id)
    with conn.transaction():
        conn.execute("DELETE FROM ticket_routing_rules WHERE property_id = %s "
                     "AND category_id IS NOT DISTINCT FROM %s", (property_id, rule.category_id))
        try:
            conn.execute(
                """INSERT INTO ticket_routing_rules (property_id, category_id, action,
                       caretaker_user_id, caretaker_email, provider_id)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (property_id, rule.category_id, rule.action, rule.caretaker_user_id,
                 rule.caretaker_email, rule.provider_id))
        except psycopg.errors.CheckViolation as exc:
            raise InvalidRequestError(
                f"routing rule {rule.action} needs its assignee (caretaker_user_id or "
                "provider_id)", field="action") from exc


def set_property_settings(conn: psycopg.Connection, actor: Actor, property_id: int, *,
                          manager_email: str | None, arrears_flag_enabled: bool) -> None:
    _reach_property(conn, resolve(conn, actor), property_id, manage=True)
    conn.execute(
        """INSERT INTO ticket_property_settings (property_id, manager_email, arrears_flag_enabled)
           VALUES (%s, %s, %s) ON CONFLICT (property_id) DO UPDATE
           SET manager_email = EXCLUDED.manager_email,
               arrears_flag_enabled = EXCLUDED.arrears_flag_enabled""",
        (property_id, manager_email, arrears_flag_enabled))


def _category_of(conn: psycopg.Connection, property_id: int, category_id: int) -> int:
    row = conn.execute("SELECT id FROM ticket_categories WHERE id = %s AND property_id = %s",
                       (category_id, property_id)).fetchone()
    if row is None:
        raise InvalidRequestError(f"category {category_id} does not belong to property "
                                  f"{property_id}", field="category_id")
    return int(row[0])


# --- tickets ------------------------------------------------------------------------------

def create_ticket(conn: psycopg.Connection, actor: Actor, data: TicketCreate, *,
                  clock: Clock = utc_now,
                  arrears_lookup: ArrearsLookup = ledger_arrears) -> tuple[TicketPublic,
                                                                       list[TicketEvent]]:
    """File a report; routing rules may approve and assign it at once."""
    who = resolve(conn, actor)
    b = conn.execute("SELECT property_id FROM buildings WHERE id = %s",
                     (data.building_id,)).fetchone()
    if b is None:
        raise NotFoundError(f"building {data.building_id} not found", field="building_id")
    property_id = int(b[0])
    place = Place(property_id, data.building_id, data.unit_id)
    reporter_ok = any(
        (rg.grant.role in STAFF_ROLES and rg.covers(place))
        or (rg.grant.role in RESIDENT_ROLES | {"advisory_board"} and rg.same_building(place))
        for rg in who.grants)
    if not reporter_ok:
        raise NotFoundError(f"building {data.building_id} not found", field="building_id")
    if data.unit_id is not None:
        u = conn.execute("SELECT 1 FROM units WHERE id = %s AND building_id = %s",
                         (data.unit_id, data.building_id)).fetchone()
        if u is None:
            raise InvalidRequestError(f"unit {data.unit_id} is not in building "
                                      f"{data.building_id}", field="unit_id")
        if data.common_area:
            raise InvalidRequestError("give a unit or a common area, not both",
                                      field="common_area")
    if (data.reporter_email and data.reporter_email.lower() != (actor.email or "").lower()
            and not actor.roles & STAFF_ROLES):
        # Staff file reports taken by phone for someone else; residents get mail at their own
        # address only, so a report cannot be used to send mail to a stranger.
        raise ForbiddenError("only staff may give another reporter address",
                             field="reporter_email")
    now = clock()
    events: list[TicketEvent] = []
    with conn.transaction():
        category_id = (ensure_default_category(conn, property_id) if data.category_id is None
                       else _category_of(conn, property_id, data.category_id))
        s = conn.execute("SELECT arrears_flag_enabled FROM ticket_property_settings "
                         "WHERE property_id = %s", (property_id,)).fetchone()
        arrears = bool(s and s[0] and actor.roles & RESIDENT_ROLES
                       and arrears_lookup(conn, actor, data.building_id))
        row = conn.execute(
            """INSERT INTO tickets (property_id, building_id, unit_id, common_area, category_id,
                   title, description, priority, visibility, anonymous, reporter_user_id,
                   reporter_name, reporter_email, arrears_flag, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               RETURNING id""",
            (property_id, data.building_id, data.unit_id, data.common_area, category_id,
             data.title, data.description, data.priority, data.visibility, data.anonymous,
             actor.user_id, actor.name, data.reporter_email or actor.email, arrears, now)
        ).fetchone()
        assert row is not None
        ticket_id = int(row[0])
        _history(conn, ticket_id, now, "created", actor,
                 "reporter" if actor.roles & RESIDENT_ROLES else sorted(actor.roles)[0],
                 to_status="open")
        events.append(TicketEvent(ticket_id, "created", actor.email))
        rule = conn.execute(
            """SELECT action, caretaker_user_id, caretaker_email, provider_id
                 FROM ticket_routing_rules WHERE property_id = %s
                  AND (category_id = %s OR category_id IS NULL)
                ORDER BY category_id NULLS LAST LIMIT 1""",
            (property_id, category_id)).fetchone()
        if rule is not None and rule[0] != "await_approval":
            action, caretaker_id, caretaker_email, provider_id = rule
            conn.execute(
                "UPDATE tickets SET status = 'approved', assignee_user_id = %s, "
                "assignee_email = %s, provider_id = %s WHERE id = %s",
                (caretaker_id if action == "assign_caretaker" else None,
                 caretaker_email if action == "assign_caretaker" else None,
                 provider_id if action == "assign_provider" else None, ticket_id))
            _history(conn, ticket_id, now, "status", SYSTEM, "system", from_status="open",
                     to_status="approved", comment=f"routing rule: {action}")
            _history(conn, ticket_id, now, "assign", SYSTEM, "system",
                     comment=(f"provider {provider_id}" if action == "assign_provider"
                              else f"caretaker {caretaker_id}"))
            events.append(TicketEvent(ticket_id, "assigned"))
    seen = _see(conn, who, ticket_id)
    public = _public(seen.row, seen.view)
    public.similar_open_tickets = [
        tid for tid in duplicates.similar_open_tickets(
            conn, building_id=data.building_id, category_id=category_id, unit_id=data.unit_id,
            common_area=data.common_area, text=f"{data.title} {data.description}",
            exclude_id=ticket_id)
        if _visible(conn, who, tid)]
    return public, events


def _visible(conn: psycopg.Connection, who: ResolvedActor, ticket_id: int) -> bool:
    try:
        _see(conn, who, ticket_id)
    except NotFoundError:
        return False
    return True


def get_ticket(conn: psycopg.Connection, actor: Actor, ticket_id: int) -> TicketDetail:
    seen = _see(conn, resolve(conn, actor), ticket_id)
    row, view = seen.row, seen.view
    hide_reporter = not view.show_reporter(row["anonymous"])
    reporter_id = row["reporter_user_id"]

    def who_label(user_id: int | None, label: str, role: str) -> str | None:
        if hide_reporter and (role == "reporter" or (user_id is not None
                                                     and user_id == reporter_id)):
            return None
        return label

    comments = [
        CommentPublic(id=c[0], author=who_label(c[1], c[2], c[3]), body=c[4], internal=c[5],
                      via=c[6], created_at=c[7])
        for c in conn.execute(
            """SELECT id, author_user_id, author_label, author_role, body, internal, via,
                      created_at FROM ticket_comments WHERE ticket_id = %s
                ORDER BY created_at, id""", (ticket_id,))
        if view.show_internal or not c[5]]
    history = [
        HistoryEntryPublic(at=h[0], kind=h[1], actor=who_label(h[2], h[3], h[4]), actor_role=h[4],
                           from_status=h[5], to_status=h[6], comment=h[7])
        for h in conn.execute(
            """SELECT at, kind, actor_user_id, actor_label, actor_role, from_status, to_status,
                      comment FROM ticket_history WHERE ticket_id = %s ORDER BY at, id""",
            (ticket_id,))
        if view.show_internal or h[1] not in ("note", "escalation")]
    atts = [AttachmentPublic(id=a[0], media_type=a[1], size_bytes=a[2], original_name=a[3],
                             created_at=a[4])
            for a in conn.execute(
                "SELECT id, media_type, size_bytes, original_name, created_at "
                "FROM ticket_attachments WHERE ticket_id = %s ORDER BY id", (ticket_id,))]
    return TicketDetail(**_public(row, view).model_dump(), comments=comments, history=history,
                        attachments=atts)


def list_tickets(conn: psycopg.Connection, actor: Actor, *, status: str | None = None,
                 building_id: int | None = None) -> list[TicketPublic]:
    """Tickets the caller can see: a coarse SQL reach, then the exact visibility rules."""
    who = resolve(conn, actor)
    global_reach = any(rg.place is None for rg in who.grants)
    property_ids = [rg.place.property_id for rg in who.grants if rg.place is not None]
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _TICKET_SQL + """ WHERE (%s OR t.property_id = ANY(%s) OR t.provider_id = %s
                                     OR t.reporter_user_id = %s)
                               AND (%s::text IS NULL OR t.status = %s)
                               AND (%s::bigint IS NULL OR t.building_id = %s)
                             ORDER BY t.created_at DESC, t.id DESC""",
            (global_reach, property_ids, actor.provider_id, actor.user_id,
             status, status, building_id, building_id)).fetchall()
    out = []
    for row in rows:
        view = view_of(who, _facts(row))
        if view is not None:
            out.append(_public(row, view))
    return out


def change_status(conn: psycopg.Connection, actor: Actor, ticket_id: int, target: str,
                  comment: str = "", *, clock: Clock = utc_now) -> tuple[TicketPublic,
                                                                         list[TicketEvent]]:
    who = resolve(conn, actor)
    now = clock()
    events = []
    with conn.transaction():
        seen = _see(conn, who, ticket_id, lock=True)
        current = seen.row["status"]
        workflow.check_transition(current, target, seen.view.roles)
        conn.execute("UPDATE tickets SET status = %s WHERE id = %s", (target, ticket_id))
        _history(conn, ticket_id, now, "status", actor, _acting_role(seen.view),
                 from_status=current, to_status=target, comment=comment)
        events.append(TicketEvent(ticket_id, "status", actor.email,
                                  f"{current} → {target}" + (f": {comment}" if comment else "")))
        if target == "done":
            state = sla.ticket_status(conn, ticket_id, now)
            conn.execute("UPDATE tickets SET first_response_breached = %s, "
                         "resolution_breached = %s WHERE id = %s",
                         (state.first_response_breached, state.resolution_breached, ticket_id))
            events.append(TicketEvent(ticket_id, "survey", actor.email))
    seen = _see(conn, who, ticket_id)
    return _public(seen.row, seen.view), events


def add_comment(conn: psycopg.Connection, actor: Actor, ticket_id: int, body: str, *,
                internal: bool = False, clock: Clock = utc_now) -> tuple[CommentPublic,
                                                                         list[TicketEvent]]:
    """A comment (reporter, staff, provider) or a staff-only internal note."""
    who = resolve(conn, actor)
    now = clock()
    with conn.transaction():
        seen = _see(conn, who, ticket_id)
        if internal and not seen.view.is_staff:
            raise ForbiddenError("internal notes are for staff only", field="internal")
        if not seen.view.may_comment:
            raise ForbiddenError(f"you may read ticket {ticket_id} but not comment on it")
        role = _acting_role(seen.view)
        row = conn.execute(
            """INSERT INTO ticket_comments (ticket_id, author_user_id, author_role, author_label,
                   body, internal, via, created_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (ticket_id, actor.user_id, role, actor.label, body, internal, actor.via, now)
        ).fetchone()
        assert row is not None
        _history(conn, ticket_id, now, "note" if internal else "comment", actor, role)
    return (CommentPublic(id=row[0], author=actor.label, body=body, internal=internal,
                          via=actor.via, created_at=now),
            [TicketEvent(ticket_id, "comment", actor.email, body, internal=internal)])


def assign(conn: psycopg.Connection, actor: Actor, ticket_id: int, data: AssignmentUpdate, *,
           clock: Clock = utc_now) -> tuple[TicketPublic, list[TicketEvent]]:
    """Give the job to a provider or a caretaker (managers); the old provider's link dies."""
    who = resolve(conn, actor)
    if (data.provider_id is None) == (data.caretaker_user_id is None):
        raise InvalidRequestError("give exactly one of provider_id and caretaker_user_id",
                                  field="provider_id")
    now = clock()
    with conn.transaction():
        seen = _see(conn, who, ticket_id, lock=True)
        if not seen.view.is_manager:
            raise ForbiddenError("only a property manager may assign a ticket")
        if data.provider_id is not None:
            p = conn.execute("SELECT 1 FROM ticket_providers WHERE id = %s AND active "
                             "AND (property_id IS NULL OR property_id = %s)",
                             (data.provider_id, seen.row["property_id"])).fetchone()
            if p is None:
                raise InvalidRequestError(f"provider {data.provider_id} does not work for this "
                                          "property", field="provider_id")
        conn.execute("UPDATE tickets SET provider_id = %s, assignee_user_id = %s, "
                     "assignee_email = %s WHERE id = %s",
                     (data.provider_id, data.caretaker_user_id, data.caretaker_email, ticket_id))
        _history(conn, ticket_id, now, "assign", actor, _acting_role(seen.view),
                 comment=(f"provider {data.provider_id}" if data.provider_id is not None
                          else f"caretaker {data.caretaker_user_id}"))
    seen = _see(conn, who, ticket_id)
    return _public(seen.row, seen.view), [TicketEvent(ticket_id, "assigned", actor.email)]


def watch(conn: psycopg.Connection, actor: Actor, ticket_id: int, email: str) -> None:
    """Subscribe an address; the role recorded decides what its mails may contain."""
    seen = _see(conn, resolve(conn, actor), ticket_id)
    view = seen.view
    role = ("property_manager" if view.is_staff else "service_provider"
            if "service_provider" in view.roles else "advisory_board"
            if "advisory_board" in view.roles else "tenant")
    if not view.is_staff and (actor.email or "").lower() != email.lower():
        raise ForbiddenError("you may only subscribe your own address", field="email")
    conn.execute("INSERT INTO ticket_watchers (ticket_id, email, user_id, role) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT (ticket_id, email) DO UPDATE "
                 "SET role = EXCLUDED.role", (ticket_id, email, actor.user_id, role))


def set_preference(conn: psycopg.Connection, actor: Actor, email: str, event: str,
                   enabled: bool) -> None:
    if (actor.email or "").lower() != email.lower() and not actor.roles & MANAGER_ROLES:
        raise ForbiddenError("you may only change your own notification settings",
                             field="email")
    conn.execute("INSERT INTO ticket_notification_prefs (email, event, enabled) "
                 "VALUES (%s, %s, %s) ON CONFLICT (email, event) DO UPDATE "
                 "SET enabled = EXCLUDED.enabled", (email.lower(), event, enabled))


def merge(conn: psycopg.Connection, actor: Actor, source_id: int, target_id: int, *,
          clock: Clock = utc_now) -> TicketPublic:
    """Close a duplicate into the ticket that stays; its reporter and watchers follow."""
    if source_id == target_id:
        raise InvalidRequestError("a ticket cannot be merged into itself", field="into_ticket_id")
    who = resolve(conn, actor)
    now = clock()
    with conn.transaction():
        source = _see(conn, who, source_id, lock=True)
        target = _see(conn, who, target_id, lock=True)
        if not (source.view.is_manager and target.view.is_manager):
            raise ForbiddenError("only a property manager may merge tickets")
        if source.row["building_id"] != target.row["building_id"]:
            raise InvalidRequestError("tickets of different buildings cannot be merged",
                                      field="into_ticket_id")
        for seen, tid in ((source, source_id), (target, target_id)):
            if seen.row["merged_into"] is not None or seen.row["status"] in (
                    workflow.CLOSED_STATUSES):
                raise ConflictError(f"ticket {tid} is closed ({seen.row['status']})")
        conn.execute("UPDATE tickets SET status = 'rejected', merged_into = %s WHERE id = %s",
                     (target_id, source_id))
        _history(conn, source_id, now, "merge", actor, _acting_role(source.view),
                 from_status=source.row["status"], to_status="rejected",
                 comment=f"merged into ticket {target_id}")
        _history(conn, source_id, now, "status", actor, _acting_role(source.view),
                 from_status=source.row["status"], to_status="rejected",
                 comment=f"duplicate of ticket {target_id}")
        _history(conn, target_id, now, "merge", actor, _acting_role(target.view),
                 comment=f"ticket {source_id} merged into this one")
        if source.row["reporter_email"]:
            conn.execute("INSERT INTO ticket_watchers (ticket_id, email, user_id, role) "
                         "VALUES (%s, %s, %s, 'tenant') ON CONFLICT DO NOTHING",
                         (target_id, source.row["reporter_email"], source.row["reporter_user_id"]))
        conn.execute("INSERT INTO ticket_watchers (ticket_id, email, user_id, role) "
                     "SELECT %s, email, user_id, role FROM ticket_watchers WHERE ticket_id = %s "
                     "ON CONFLICT DO NOTHING", (target_id, source_id))
    seen = _see(conn, who, target_id)
    return _public(seen.row, seen.view)


def submit_survey(conn: psycopg.Connection, actor: Actor, ticket_id: int, rating: int,
                  comment: str, *, clock: Clock = utc_now) -> SurveyPublic:
    who = resolve(conn, actor)
    now = clock()
    with conn.transaction():
        seen = _see(conn, who, ticket_id, lock=True)
        if "reporter" not in seen.view.roles:
            raise ForbiddenError("only the reporter rates the repair")
        if seen.row["status"] != "done":
            raise ConflictError(f"ticket {ticket_id} is {seen.row['status']}; the survey opens "
                                "when it is done", field="status")
        try:
            conn.execute("INSERT INTO ticket_surveys (ticket_id, rating, comment, submitted_at) "
                         "VALUES (%s, %s, %s, %s)", (ticket_id, rating, comment, now))
        except psycopg.errors.UniqueViolation as exc:
            raise ConflictError(f"ticket {ticket_id} was already rated") from exc
        _history(conn, ticket_id, now, "survey", actor, "reporter", comment=f"rating {rating}")
    return SurveyPublic(ticket_id=ticket_id, rating=rating, comment=comment, submitted_at=now)


# --- attachments --------------------------------------------------------------------------

def add_attachment(conn: psycopg.Connection, actor: Actor, settings: TicketSettings,
                   ticket_id: int, data: bytes, original_name: str, *,
                   clock: Clock = utc_now) -> AttachmentPublic:
    who = resolve(conn, actor)
    seen = _see(conn, who, ticket_id)
    if not seen.view.may_comment:
        raise ForbiddenError(f"you may read ticket {ticket_id} but not add files to it")
    cleaned = files.clean(data, original_name, files.Limits(
        settings.max_image_bytes, settings.max_document_bytes, settings.max_image_pixels))
    stored_name = files.store(Path(settings.data_dir), ticket_id, cleaned.data)
    now = clock()
    row = conn.execute(
        """INSERT INTO ticket_attachments (ticket_id, stored_name, media_type, size_bytes, sha256,
               original_name, uploaded_by, uploaded_role, created_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (ticket_id, stored_name, cleaned.media_type, len(cleaned.data), cleaned.sha256,
         original_name[:200], actor.user_id, _acting_role(seen.view), now)).fetchone()
    assert row is not None
    return AttachmentPublic(id=row[0], media_type=cleaned.media_type,
                            size_bytes=len(cleaned.data), original_name=original_name[:200],
                            created_at=now)


def read_attachment(conn: psycopg.Connection, actor: Actor, settings: TicketSettings,
                    ticket_id: int, attachment_id: int) -> tuple[bytes, str, str]:
    """(bytes, media type, original name) after the same visibility check as the ticket."""
    _see(conn, resolve(conn, actor), ticket_id)
    row = conn.execute("SELECT stored_name, media_type, original_name FROM ticket_attachments "
                       "WHERE id = %s AND ticket_id = %s", (attachment_id, ticket_id)).fetchone()
    if row is None:
        raise NotFoundError(f"attachment {attachment_id} not found", field="attachment_id")
    return files.load(Path(settings.data_dir), row[0]), row[1], row[2]


# --- SLA escalation, mail -----------------------------------------------------------------

def escalate_breaches(conn: psycopg.Connection, *, clock: Clock = utc_now,
                      property_id: int | None = None) -> list[TicketEvent]:
    """Escalate each open ticket's breached SLA once per kind (run by a periodic job,
    for every property or one)."""
    now = clock()
    events = []
    ids = [int(r[0]) for r in conn.execute(
        "SELECT id FROM tickets WHERE status IN ('open', 'approved', 'in_progress', 'waiting') "
        "AND merged_into IS NULL AND (%s::bigint IS NULL OR property_id = %s) ORDER BY id",
        (property_id, property_id))]
    for ticket_id in ids:
        state = sla.ticket_status(conn, ticket_id, now)
        for kind, breached in (("first_response", state.first_response_breached),
                               ("resolution", state.resolution_breached)):
            if not breached:
                continue
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO ticket_escalations (ticket_id, kind, escalated_at) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING ticket_id",
                    (ticket_id, kind, now)).fetchone()
                if row is None:
                    continue
                _history(conn, ticket_id, now, "escalation", SYSTEM, "system",
                         comment=f"{kind} SLA breached")
            events.append(TicketEvent(ticket_id, "escalated",
                                      text=f"The {kind.replace('_', ' ')} time was exceeded."))
    return events


def mails_for(conn: psycopg.Connection, settings: TicketSettings, events: list[TicketEvent], *,
              clock: Clock = utc_now) -> list[Mail]:
    now = clock()
    mails: list[Mail] = []
    with conn.transaction():
        for event in events:
            mails.extend(notifications.build_mails(conn, settings, event, now))
    return mails


def thread_reply(conn: psycopg.Connection, sender: str, ticket_id: int, body: str, *,
                 clock: Clock = utc_now) -> tuple[CommentPublic, list[TicketEvent]]:
    """Add an e-mail reply as a comment, if the sender is someone the ticket mails."""
    row = conn.execute(
        """SELECT t.reporter_email, t.reporter_user_id, t.assignee_email, t.assignee_user_id,
                  p.email, p.id, p.name
             FROM tickets t LEFT JOIN ticket_providers p ON p.id = t.provider_id
            WHERE t.id = %s""", (ticket_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"ticket {ticket_id} not found")
    sender = sender.lower()
    reporter_email, reporter_id, assignee_email, assignee_id, provider_email, provider_id, \
        provider_name = row
    if reporter_email and sender == reporter_email.lower():
        actor = Actor(reporter_id, (Grant("tenant"),), email=sender, via="email", name=sender)
    elif provider_email and sender == provider_email.lower():
        actor = Actor(None, (Grant("service_provider"),), email=sender, via="email",
                      provider_id=provider_id, name=provider_name)
    elif assignee_email and sender == assignee_email.lower():
        actor = Actor(assignee_id, (Grant("caretaker"),), email=sender, via="email", name=sender)
    else:
        raise ForbiddenError(f"{sender} does not take part in ticket {ticket_id}", field="From")
    if actor.roles == {"tenant"} and reporter_id is None:
        raise ForbiddenError("the reporter has no account to act as", field="From")
    return add_comment(conn, actor, ticket_id, body, clock=clock)


def dashboard(conn: psycopg.Connection, actor: Actor, property_id: int, by: str,
              now: datetime) -> dict[str, Any]:
    """All ticket metrics of a property (managers of the property)."""
    _reach_property(conn, resolve(conn, actor), property_id, manage=True)
    return {
        "by": by,
        "mttr": metrics.mttr(conn, property_id, by),
        "first_response": metrics.first_response(conn, property_id, by),
        "backlog_by_age": metrics.backlog_by_age(conn, property_id, now),
        "sla": metrics.sla_breach_rate(conn, property_id),
        "provider_load": metrics.provider_load(conn, property_id),
        "satisfaction": metrics.satisfaction(conn, property_id, by),
    }


def provider_actor(conn: psycopg.Connection, provider_id: int) -> Actor:
    """The actor a valid provider link acts as (no account: no user id)."""
    row = conn.execute("SELECT name, email FROM ticket_providers WHERE id = %s AND active",
                       (provider_id,)).fetchone()
    if row is None:
        raise NotFoundError("provider not found")
    return Actor(None, (Grant("service_provider"),), name=str(row[0]), email=str(row[1]),
                 provider_id=provider_id, via="provider_link")
