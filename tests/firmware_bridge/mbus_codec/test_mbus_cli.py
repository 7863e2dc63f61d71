"""``meterbill mbus decode``: xml equals libmbus, json is exact, bad frames exit 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from firmware_bridge.codecs.mbus_link import encode_long_frame
from firmware_bridge.mbus_cli import app

from .conftest import VECTORS

runner = CliRunner()
FRAMES = VECTORS / "test-frames"


def test_xml_output_is_libmbus_normalised_xml() -> None:
    result = runner.invoke(app, ["decode", "--format", "xml",
                                 str(FRAMES / "kamstrup_multical_601.hex"),
                                 str(FRAMES / "wmbus-converted.hex")])
    assert result.exit_code == 0, result.output
    expected = (FRAMES / "kamstrup_multical_601.norm.xml").read_bytes().decode() + \
        (FRAMES / "wmbus-converted.norm.xml").read_bytes().decode()
    assert result.stdout == expected


def test_json_output_keeps_exact_values() -> None:
    result = runner.invoke(app, ["decode", str(FRAMES / "kamstrup_multical_601.hex")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["type"] == "VariableDataResponse"
    assert doc["header"]["manufacturer"] == "KAM"
    volume = doc["records"][2]
    assert (volume["quantity"], volume["unit"], volume["value"]) == ("Volume", "m^3", "561.08")
    assert doc["records"][16]["value"] == "2011-01-05T15:26:00"


def test_hex_string_input_and_several_inputs() -> None:
    frame = encode_long_frame(8, 1, 0x70, b"\x08").hex(" ")
    result = runner.invoke(app, ["decode", frame, frame.replace(" ", "")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["Application busy"] * 2


def test_bad_frame_prints_one_line_with_offset_and_exits_nonzero(tmp_path: Path) -> None:
    good = FRAMES / "abb_f95.hex"
    bad = VECTORS / "error-frames" / "premature_end_of_vif1.hex"
    result = runner.invoke(app, ["decode", str(bad), str(good)])
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors == [f"{bad}: M-Bus: premature end of data: VIF expected at byte 31 (VIF)"]
    assert json.loads(result.stdout)["header"]["manufacturer"] == "HYD"


def test_input_that_is_not_hex_is_reported() -> None:
    bad = VECTORS / "unsupported-frames" / "manual_frame1.hex"
    result = runner.invoke(app, ["decode", str(bad), "68zz"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bad}: not hex bytes: token 'D' has an odd number of digits",
        "68zz: not hex: character 'z' at position 2",
    ]


def test_concatenated_frames_in_one_file_decode_in_order(tmp_path: Path) -> None:
    first = encode_long_frame(8, 1, 0x72, bytes(12) + bytes.fromhex("01130A1F"))
    second = encode_long_frame(8, 1, 0x72, bytes(12) + bytes.fromhex("01130B"))
    path = tmp_path / "multi.hex"
    path.write_text((first + second).hex(" ").upper() + "\n")
    result = runner.invoke(app, ["decode", str(path)])
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["more_records_follow"] for d in docs] == [True, False]
    assert docs[1]["input"] == f"{path} [frame 1]"
