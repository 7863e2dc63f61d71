"""Shared fixtures; the database ones live in tests/db_fixtures.py."""

from __future__ import annotations

import psycopg

from tests.db_fixtures import db_conn, db_dsn, empty_db_dsn, migrated_template, server_dsn

__all__ = ["db_conn", "db_dsn", "empty_db_dsn", "migrated_template"]


def pytest_report_header(config: object) -> list[str]:
    lines = []
    try:
        with psycopg.connect(server_dsn(), autocommit=True, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        lines.append(f"meterbill: PostgreSQL {version[0] if version else '?'}")
    except Exception as exc:  # the header must never break the run
        lines.append(f"meterbill: PostgreSQL unavailable ({exc})")
    try:
        from billing_core import kernels

        lines.append(f"meterbill: billing kernels {getattr(kernels, '__impl__', '?')}")
    except Exception as exc:
        lines.append(f"meterbill: billing kernels not loaded ({exc})")
    try:
        from firmware_bridge.codecs import mbus

        lines.append(f"meterbill: M-Bus decoder {mbus.__impl__}")
    except Exception as exc:
        lines.append(f"meterbill: M-Bus decoder not loaded ({exc})")
    return lines
