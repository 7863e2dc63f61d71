"""``mbus scan`` and ``mbus read`` against the simulated bus behind a pty and TCP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firmware_bridge.codecs.mbus_link import encode_long_frame
from firmware_bridge.mbus_bus_cli import app
from simulators.mbus_bus import MBusBus, PtyBusServer, TcpBusServer
from simulators.mbus_slave import MBusSlave, hex_file_bytes

from .mbus_bus_helpers import VECTORS, slave, water_meter

runner = CliRunner()


@pytest.fixture
def bus() -> MBusBus:
    meter = MBusSlave.from_encoded(
        [water_meter(22000001, 11, more=True), water_meter(22000001, 12)], primary_address=1
    )
    replay = MBusSlave.from_hex_files(
        [VECTORS / "test-frames" / "GWF-MTKcoder.hex"], primary_address=2
    )
    return MBusBus([meter, slave(29000002, primary=5), replay])


@pytest.fixture
def pty_path(bus: MBusBus) -> Iterator[str]:
    with PtyBusServer(bus) as server:
        yield server.port


def test_cli_scan_prints_every_secondary_address(pty_path: str) -> None:
    result = runner.invoke(app, ["scan", "--port", pty_path, "--baud", "38400",
                                 "--timeout", "0.03", "--retries", "0"])
    assert result.exit_code == 0, result.output
    lines = sorted(line.split()[1] for line in result.stdout.splitlines())
    # GWF vector header: ID 00182007, manufacturer 1EE6h, version 35h, medium 07h
    assert lines == ["001820071EE63507", "2200000104430107", "2900000204430107"]
    assert "manufacturer=ABC" in result.stdout


def test_cli_scan_primary(pty_path: str) -> None:
    result = runner.invoke(app, ["scan", "--port", pty_path, "--baud", "38400",
                                 "--timeout", "0.03", "--primary", "--retries", "0",
                                 "--first", "0", "--last", "12"])
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["primary", "1", "primary", "2", "primary", "5"]


def test_cli_read_primary_hex_is_the_wire_frame(pty_path: str) -> None:
    result = runner.invoke(app, ["read", "--port", pty_path, "--baud", "38400",
                                 "--address", "2"])
    assert result.exit_code == 0, result.output
    wire = hex_file_bytes(VECTORS / "test-frames" / "GWF-MTKcoder.hex")
    # the replaying slave answers from its own primary address 2 (vector: 1)
    expected = encode_long_frame(wire[4], 2, wire[6], wire[7:-2])
    assert result.stdout.strip() == expected.hex(" ").upper()


def test_cli_read_secondary_json_decodes_all_telegrams(pty_path: str) -> None:
    result = runner.invoke(app, ["read", "--port", pty_path, "--baud", "38400",
                                 "--secondary", "2200000104430107", "--json"])
    assert result.exit_code == 0, result.output
    telegrams = json.loads(result.stdout)["telegrams"]
    assert [t["records"][0]["value"] for t in telegrams] == ["0.011", "0.012"]
    assert telegrams[0]["header"]["id"] == 22000001
    assert telegrams[0]["more_records_follow"] is True


def test_cli_read_over_tcp(bus: MBusBus) -> None:
    with TcpBusServer(bus) as server:
        host, port = server.address
        result = runner.invoke(app, ["read", "--tcp", f"{host}:{port}", "--baud", "38400",
                                     "--address", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["telegrams"][0]["records"][0]["value"] == "1.005"


def test_cli_errors_are_one_line_and_exit_non_zero(pty_path: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["read", "--port", pty_path, "--baud", "38400",
                                 "--timeout", "0.03", "--retries", "0", "--address", "77"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: M-Bus REQ_UD2 to address 77: no answer")
    missing = tmp_path / "no-such-tty"
    result = runner.invoke(app, ["scan", "--port", str(missing)])
    assert result.exit_code == 1
    assert "cannot open" in result.stderr
    result = runner.invoke(app, ["read", "--port", pty_path, "--baud", "14400", "--address", "1"])
    assert result.exit_code == 1
    assert "baudrate = 14400" in result.stderr
