"""The dependency arrows of the layout, checked on the source (see STYLE.md, Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"firmware_bridge", "gateway", "billing_core", "api", "simulators", "meterbill"}
ALLOWED = {
    "firmware_bridge": {"firmware_bridge"},
    "gateway": {"gateway", "firmware_bridge"},
    "billing_core": {"billing_core"},
    "api": {"api", "billing_core"},
    "simulators": {"simulators", "firmware_bridge"},
    "meterbill": OURS,  # the composition root wires everything
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_arrows_allow(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no sources"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package])
        for path in files
        if imported_packages(path) - ALLOWED[package]
    }
    assert wrong == {}
