"""The physical pieces of ``readings``: native partitions or TimescaleDB chunks.

Plan checks need them: "this query reads no raw partition" must tell the
raw hypertable's chunks apart from those of the continuous aggregates'
materialization hypertables, which are named alike (``_hyper_N_M_chunk``).
"""

from __future__ import annotations

import re

import psycopg

from api.store.rollups import storage_kind


def raw_partitions(conn: psycopg.Connection) -> set[str]:
    """Names of the tables that hold raw readings."""
    if storage_kind(conn) == "native":
        rows = conn.execute("SELECT c.relname FROM pg_inherits i"
                            " JOIN pg_class c ON c.oid = i.inhrelid"
                            " WHERE i.inhparent = 'readings'::regclass").fetchall()
    else:
        rows = conn.execute("SELECT chunk_name FROM timescaledb_information.chunks"
                            " WHERE hypertable_name = 'readings'").fetchall()
    return {str(r[0]) for r in rows}


def partitions_in_plan(plan_text: str, partitions: set[str]) -> set[str]:
    """Which of ``partitions`` an EXPLAIN text names."""
    words = set(re.findall(r"[A-Za-z0-9_]+", plan_text))
    return words & partitions
