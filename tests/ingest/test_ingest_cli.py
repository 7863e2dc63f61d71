"""``meterbill ingest run``: wrong settings stop with one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

INGEST = [sys.executable, "-m", "meterbill.ingest_cli", "run"]


def run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERBILL_")}
    env.update(env_extra)
    return subprocess.run(INGEST + args, capture_output=True, text=True, env=env, timeout=60)


def test_without_a_database_the_worker_refuses_to_start() -> None:
    result = run(["--prefix", "x"], {})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "meterbill: METERBILL_DSN is not set: the ingest worker needs the server's database")


def test_a_prefix_with_a_wildcard_is_refused_naming_the_setting() -> None:
    result = run(["--prefix", "site/#"], {"METERBILL_DSN": "postgresql:///unused"})
    assert result.returncode == 2
    assert "meterbill: invalid ingest settings:" in result.stderr
    assert "prefix" in result.stderr and "Traceback" not in result.stderr


def test_a_group_that_is_not_one_topic_level_is_refused() -> None:
    result = run(["--group", "a/b"], {"METERBILL_DSN": "postgresql:///unused"})
    assert result.returncode == 2
    assert "shared subscription group 'a/b' cannot be one MQTT topic level" in result.stderr
