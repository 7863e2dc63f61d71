"""``meterbill demo --once --json`` in a subprocess, on the embedded PostgreSQL default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_once_json_on_embedded_postgres(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERBILL_")}
    env["METERBILL_DATA_DIR"] = str(tmp_path / "data")  # a fresh embedded server of its own
    env["METERBILL_DEMO__PERIOD"] = "2026-02"
    result = subprocess.run([sys.executable, "-m", "meterbill", "demo", "--once", "--json"],
                            capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr
    bills = json.loads(result.stdout)
    assert (tmp_path / "data" / "postgres").is_dir()
    assert bills["period"] == "2026-02"
    assert bills["readings"]["failed_reads"] == 0
    assert bills["readings"]["inserted"] == bills["readings"]["polled"] == 7 * 2 * (28 * 24 + 1)
    assert len(bills["units"]) == 6
    for cost in bills["costs"]:
        shares = [line["amount_cents"] for unit in bills["units"] for line in unit["lines"]
                  if line["item"] == cost["item"]]
        assert sum(shares) == cost["total_cents"]
        assert all(isinstance(s, int) for s in shares)
    assert sum(unit["total_cents"] for unit in bills["units"]) == bills["total_cents"]
