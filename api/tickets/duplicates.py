"""Hints that a new report may already be known, and the similarity behind them.

A hint needs the same building, category and location (unit or common area) —
a dripping tap in flat 3 and one in flat 5 are two jobs — and similar text.
Similarity is rapidfuzz's token-set ratio over title and description, which
ignores word order and repeated words ("lift broken" vs "the lift is broken
again"); 0–100, a hint at ``THRESHOLD`` or above.
"""

from __future__ import annotations

import psycopg
from rapidfuzz import fuzz

THRESHOLD = 70.0


def similarity(a: str, b: str) -> float:
    return float(fuzz.token_set_ratio(a.casefold(), b.casefold()))


def similar_open_tickets(conn: psycopg.Connection, *, building_id: int, category_id: int,
                         unit_id: int | None, common_area: str | None, text: str,
                         exclude_id: int | None = None) -> list[int]:
    """Ids of open tickets that look like the same problem, most similar first."""
    rows = conn.execute(
        """SELECT id, title || ' ' || description FROM tickets
            WHERE building_id = %s AND category_id = %s
              AND unit_id IS NOT DISTINCT FROM %s
              AND lower(coalesce(common_area, '')) = lower(coalesce(%s, ''))
              AND status IN ('open', 'approved', 'in_progress', 'waiting')
              AND merged_into IS NULL AND id <> coalesce(%s, -1)""",
        (building_id, category_id, unit_id, common_area, exclude_id)).fetchall()
    scored = [(similarity(text, str(other)), int(tid)) for tid, other in rows]
    return [tid for score, tid in sorted(scored, key=lambda s: (-s[0], s[1]))
            if score >= THRESHOLD]
