"""``meterbill profiles`` and ``meterbill modbus read`` against a real pymodbus server."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import pytest
from pymodbus import FramerType
from typer.testing import CliRunner

from firmware_bridge.modbus_cli import app as modbus_app
from firmware_bridge.modbus_profile import list_profiles, load_profile
from firmware_bridge.profiles_cli import app as profiles_app

from .modbus_tcp_server import modbus_tcp_server

runner = CliRunner()


def _case_values(profile):
    """Every register's value from the profile's first embedded case, 0 if absent."""
    expect = dict(profile.tests[0].expect)
    return {reg.name: expect.get(reg.name, Decimal(0)) for reg in profile.registers}


def test_profiles_list_shows_every_profile_with_its_source():
    result = runner.invoke(profiles_app, ["list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["NAME", "MANUFACTURER", "MODEL"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == list_profiles()
    em24 = next(line for line in lines if line.startswith("em24 "))
    assert "Carlo Gavazzi" in em24 and "EM24-DIN Communication Protocol" in em24


def test_profiles_show_prints_registers_and_planned_reads():
    result = runner.invoke(profiles_app, ["show", "em24"])
    assert result.exit_code == 0, result.output
    assert "Carlo Gavazzi EM24  (em24.toml)" in result.output
    assert "limits: 11 registers per read" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("energy_import_kwh"))
    assert row.split() == ["energy_import_kwh", "4", "0x0034", "(52)", "int32", "CDAB", "0.1",
                           "kWh", "active_energy_import"]
    assert "reads per poll: 5" in result.output
    assert "FC4 0x0033+3  input registers: frequency_hz, energy_import_kwh" in result.output


def test_profiles_show_unknown_name_fails_with_the_list():
    result = runner.invoke(profiles_app, ["show", "nosuchmeter"])
    assert result.exit_code == 1
    assert "unknown profile 'nosuchmeter'; available:" in result.output


@pytest.mark.parametrize("profile_name", ["sdm630", "em24", "b23", "umg96rm"])
def test_modbus_read_json_against_pymodbus_server(profile_name):
    profile = load_profile(profile_name)
    values = _case_values(profile)
    with modbus_tcp_server(profile, values, unit=7) as port:
        result = runner.invoke(modbus_app, ["read", "--profile", profile_name,
                                            "--host", "127.0.0.1", "--port", str(port),
                                            "--unit", "7", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["profile"] == profile_name
    assert document["endpoint"] == f"tcp://127.0.0.1:{port}"
    got = {name: Decimal(entry["value"]) for name, entry in document["values"].items()}
    assert got == values
    assert document["values"]["energy_import_kwh"]["unit"] == "kWh"


def test_modbus_read_serial_path_speaks_rtu():
    # pyserial's socket:// URL carries the RTU frames (slave id, PDU, CRC) to a
    # pymodbus server using the RTU framer, as a TCP serial device server would.
    profile = load_profile("em24")
    values = _case_values(profile)
    with modbus_tcp_server(profile, values, unit=3, framer=FramerType.RTU) as port:
        result = runner.invoke(modbus_app, ["read", "--profile", "em24", "--serial",
                                            f"socket://127.0.0.1:{port}", "--baud", "9600",
                                            "--parity", "N", "--unit", "3", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["endpoint"] == f"serial://socket://127.0.0.1:{port}@9600N1"
    assert {n: Decimal(e["value"]) for n, e in document["values"].items()} == values


def test_modbus_read_text_output_selected_registers():
    profile = load_profile("sdm630")
    with modbus_tcp_server(profile, _case_values(profile), unit=1) as port:
        result = runner.invoke(modbus_app, ["read", "--profile", "sdm630", "--host", "127.0.0.1",
                                            "--port", str(port), "--unit", "1",
                                            "--register", "energy_import_kwh",
                                            "--register", "power_w"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Eastron SDM630 at tcp://127.0.0.1:{port} unit 1"
    assert [line.split() for line in lines[1:]] == [["power_w", "2267.5", "W"],
                                                   ["energy_import_kwh", "12345.67", "kWh"]]


def test_modbus_read_exception_response_is_reported():
    # The server only holds input registers; asking for a holding-register profile
    # (ABB, FC 03) at those addresses gets exception 02 (illegal data address).
    sdm = load_profile("sdm630")
    with modbus_tcp_server(sdm, _case_values(sdm), unit=1) as port:
        result = runner.invoke(modbus_app, ["read", "--profile", "b23", "--host", "127.0.0.1",
                                            "--port", str(port), "--unit", "1"])
    assert result.exit_code == 1
    assert f"tcp://127.0.0.1:{port} unit 1 answered exception" in result.output
    assert "FC3 0x5000+8" in result.output


def test_modbus_read_refused_connection_is_reported():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(modbus_app, ["read", "--profile", "sdm630", "--host", "127.0.0.1",
                                        "--port", str(port), "--unit", "1", "--timeout", "1"])
    assert result.exit_code == 1
    assert f"error: tcp://127.0.0.1:{port}" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--profile", "sdm630", "--unit", "1"],
        ["--profile", "sdm630", "--unit", "1", "--host", "h", "--serial", "/dev/ttyUSB0"],
    ],
)
def test_modbus_read_needs_exactly_one_transport(args):
    result = runner.invoke(modbus_app, ["read", *args])
    assert result.exit_code == 2
    assert "exactly one of --host or --serial" in result.output
