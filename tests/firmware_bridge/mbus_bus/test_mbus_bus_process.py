"""The bus simulator as its own process, read by ``meterbill mbus read`` over its pty."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firmware_bridge.mbus_bus_cli import app

from .mbus_bus_helpers import VECTORS

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def simulator() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.mbus_bus", "--demo", "2",
         str(VECTORS / "test-frames" / "kamstrup_382_005.hex")],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(4)]  # where, then one line per slave
    try:
        yield proc, lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_simulator_process_serves_a_pty_the_cli_reads(
    simulator: tuple[subprocess.Popen[str], list[str]],
) -> None:
    proc, lines = simulator
    kind, path = lines[0].split()
    assert kind == "pty"
    assert [line.split()[1] for line in lines[1:]] == ["120", "1", "2"]
    result = CliRunner().invoke(app, ["read", "--port", path, "--baud", "38400",
                                      "--address", "120", "--json"])
    assert result.exit_code == 0, result.output
    header = json.loads(result.stdout)["telegrams"][0]["header"]
    assert (header["id"], header["manufacturer"]) == (14839120, "KAM")
    proc.terminate()
    assert proc.wait(timeout=10) == 0
