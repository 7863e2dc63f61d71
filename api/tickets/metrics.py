"""Dashboard figures for a property, computed in SQL from the ticket history.

- MTTR (mean time to repair): creation to the last move to *done*, wall-clock
  (what the resident lived with; the SLA's paused clock is a separate figure),
  over tickets that are done now — a reopened ticket counts once it is done again.
- First response: creation to the first status change or public comment by
  staff or the provider.
- Backlog by age: open tickets (not merged) by age at ``now``.
- SLA breach rate: share of done tickets whose resolution (or first response)
  exceeded the policy, as evaluated with pauses when they were closed.
- Provider load: open assignments per provider; satisfaction: survey ratings.

Durations are whole seconds (rounded means), grouped by category, provider or
building.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.errors import InvalidRequestError

DIMENSIONS = {"category": "t.category_id", "provider": "t.provider_id",
              "building": "t.building_id"}
_RESPONDERS = "('admin', 'property_manager', 'caretaker', 'service_provider')"


def _dimension(name: str) -> str:
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise InvalidRequestError(f"unknown dimension {name!r}; one of {', '.join(DIMENSIONS)}",
                                  field="by") from None


def _rows(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(sql, params).fetchall())  # type: ignore[arg-type]


def mttr(conn: psycopg.Connection, property_id: int, by: str) -> list[dict[str, Any]]:
    col = _dimension(by)
    return _rows(conn, f"""
        SELECT {col} AS key, count(*) AS tickets,
               round(avg(extract(epoch FROM d.done_at - t.created_at)))::bigint AS mean_s
          FROM tickets t
          JOIN LATERAL (SELECT max(h.at) AS done_at FROM ticket_history h
                         WHERE h.ticket_id = t.id AND h.kind = 'status'
                           AND h.to_status = 'done') d ON d.done_at IS NOT NULL
         WHERE t.property_id = %s AND t.status = 'done'
         GROUP BY {col} ORDER BY {col} NULLS LAST""", (property_id,))


def first_response(conn: psycopg.Connection, property_id: int, by: str) -> list[dict[str, Any]]:
    col = _dimension(by)
    return _rows(conn, f"""
        SELECT {col} AS key, count(*) AS tickets,
               round(avg(extract(epoch FROM r.first_at - t.created_at)))::bigint AS mean_s
          FROM tickets t
          JOIN LATERAL (SELECT min(h.at) AS first_at FROM ticket_history h
                         WHERE h.ticket_id = t.id AND h.kind IN ('status', 'comment')
                           AND h.actor_role IN {_RESPONDERS}) r ON r.first_at IS NOT NULL
         WHERE t.property_id = %s
         GROUP BY {col} ORDER BY {col} NULLS LAST""", (property_id,))


def backlog_by_age(conn: psycopg.Connection, property_id: int,
                   now: datetime) -> dict[str, int]:
    rows = conn.execute("""
        SELECT CASE WHEN age < interval '1 day' THEN 'under_1d'
                    WHEN age < interval '7 days' THEN '1d_to_7d'
                    WHEN age < interval '30 days' THEN '7d_to_30d'
                    ELSE 'over_30d' END AS bucket, count(*)
          FROM (SELECT %s::timestamptz - created_at AS age FROM tickets
                 WHERE property_id = %s AND merged_into IS NULL
                   AND status IN ('open', 'approved', 'in_progress', 'waiting')) a
         GROUP BY 1""", (now, property_id)).fetchall()
    out = {"under_1d": 0, "1d_to_7d": 0, "7d_to_30d": 0, "over_30d": 0}
    out.update({str(b): int(n) for b, n in rows})
    return out


def sla_breach_rate(conn: psycopg.Connection, property_id: int) -> dict[str, Any]:
    row = conn.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE resolution_breached),
               count(*) FILTER (WHERE first_response_breached),
               (SELECT count(DISTINCT e.ticket_id) FROM ticket_escalations e
                  JOIN tickets o ON o.id = e.ticket_id
                 WHERE o.property_id = %s
                   AND o.status IN ('open', 'approved', 'in_progress', 'waiting'))
          FROM tickets WHERE property_id = %s AND status = 'done'""",
                       (property_id, property_id)).fetchone()
    assert row is not None
    done, resolution, first, open_escalated = (int(x) for x in row)
    return {"done_tickets": done, "resolution_breached": resolution,
            "first_response_breached": first, "open_escalated": open_escalated,
            "resolution_breach_rate": None if done == 0 else round(resolution / done, 4)}


def provider_load(conn: psycopg.Connection, property_id: int) -> list[dict[str, Any]]:
    return _rows(conn, """
        SELECT p.id AS provider_id, p.name,
               count(t.id) FILTER (WHERE t.status IN ('approved', 'in_progress', 'waiting')
                                     AND t.merged_into IS NULL) AS open_assignments,
               count(s.ticket_id) AS ratings,
               round(avg(s.rating), 2) AS mean_rating
          FROM ticket_providers p
          JOIN tickets t ON t.provider_id = p.id AND t.property_id = %s
          LEFT JOIN ticket_surveys s ON s.ticket_id = t.id
         GROUP BY p.id, p.name ORDER BY p.id""", (property_id,))


def satisfaction(conn: psycopg.Connection, property_id: int, by: str) -> list[dict[str, Any]]:
    col = _dimension(by)
    return _rows(conn, f"""
        SELECT {col} AS key, count(*) AS ratings, round(avg(s.rating), 2) AS mean_rating
          FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id
         WHERE t.property_id = %s
         GROUP BY {col} ORDER BY {col} NULLS LAST""", (property_id,))
