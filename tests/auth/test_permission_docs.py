"""docs/permissions.md shows the table the code enforces."""

from __future__ import annotations

from pathlib import Path

from api.permissions import GRANTS, ROLES, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_the_documented_table_is_the_enforced_one() -> None:
    assert markdown_table() in DOC.read_text("utf-8")


def test_the_table_names_known_roles_only() -> None:
    for action, roles in GRANTS.items():
        assert set(roles) <= set(ROLES), action
