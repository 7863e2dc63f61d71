"""Bad profile files are refused at load with the key and the file named."""

from __future__ import annotations

import pytest

from firmware_bridge.errors import ProfileError
from firmware_bridge.modbus_profile import load_profile

from .profile_files import DEFAULT_TEST, HEADER, register_toml, write_profile

A = register_toml("a_w", 0)


def _error(path) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    return str(info.value)


def test_valid_minimal_profile_loads(tmp_path):
    profile = load_profile(write_profile(tmp_path, A, file_name="ok.toml"))
    assert profile.key == "ok"
    assert profile.register("a_w").function_code == 4  # top-level default applied
    assert profile.register("a_w").count == 2  # count follows from the type


def test_wrong_count_for_type(tmp_path):
    body = register_toml("a_w", 0, extra="count = 3\n")
    assert _error(write_profile(tmp_path, body)) == (
        "registers[0].count = 3: float32 needs 2 registers (bad.toml)")


def test_unknown_type(tmp_path):
    body = register_toml("a_w", 0, "float16")
    assert _error(write_profile(tmp_path, body)).startswith(
        "registers[0].type = 'float16': unknown type (known: int16, uint16, bcd16,")


def test_overlapping_registers(tmp_path):
    body = A + register_toml("b_w", 1)
    assert _error(write_profile(tmp_path, body)) == (
        "registers[1].address = 1: b_w overlaps registers[0] (a_w, input registers "
        "0x0000..0x0001) (bad.toml)")


def test_overlap_is_found_whatever_the_file_order(tmp_path):
    body = register_toml("b_w", 6) + register_toml("c_w", 4, "uint64") + A
    assert _error(write_profile(tmp_path, body)) == (
        "registers[0].address = 6: b_w overlaps registers[1] (c_w, input registers "
        "0x0004..0x0007) (bad.toml)")


def test_same_address_in_holding_and_input_space_is_not_an_overlap(tmp_path):
    body = A + register_toml("b_w", 0, extra="function_code = 3\n")
    profile = load_profile(write_profile(tmp_path, body))
    assert [r.function_code for r in profile.registers] == [4, 3]


def test_float_scale_is_refused(tmp_path):
    body = register_toml("a_w", 0, scale="0.1")
    assert _error(write_profile(tmp_path, body)) == (
        'registers[0].scale = 0.1: write it as a string, e.g. "0.01", so it stays exact '
        "(bad.toml)")


def test_unit_must_match_name_suffix(tmp_path):
    body = register_toml("energy_import_kwh", 0, unit="Wh")
    assert _error(write_profile(tmp_path, body)) == (
        "registers[0].unit = 'Wh': name 'energy_import_kwh' says kWh (bad.toml)")


def test_misspelt_key_is_refused(tmp_path):
    body = A.replace("address =", "adress =")
    assert _error(write_profile(tmp_path, body)).startswith(
        "registers[0].adress: unknown key (allowed: address, byte_order,")


def test_function_code_must_read_registers(tmp_path):
    body = register_toml("a_w", 0, extra="function_code = 1\n")
    assert _error(write_profile(tmp_path, body)) == (
        "registers[0].function_code = 1: must be one of 3, 4 (bad.toml)")


def test_request_limit_above_protocol_maximum(tmp_path):
    assert _error(write_profile(tmp_path, A, max_regs=126)) == (
        "max_registers_per_request = 126: must be in 1..125 (bad.toml)")


def test_register_larger_than_request_limit(tmp_path):
    body = register_toml("a_w", 0, "float64")
    assert _error(write_profile(tmp_path, body, max_regs=2)) == (
        "registers[0].count = 4: larger than max_registers_per_request = 2 (bad.toml)")


def test_register_past_last_address(tmp_path):
    body = register_toml("a_w", 0xFFFF)
    assert _error(write_profile(tmp_path, body)) == (
        "registers[0].address = 65535: float32 would run past register 0xFFFF (bad.toml)")


def test_duplicate_register_name(tmp_path):
    body = A + register_toml("a_w", 10)
    assert _error(write_profile(tmp_path, body)) == (
        "registers[1].name = 'a_w': duplicate of registers[0].name (bad.toml)")


def test_missing_source(tmp_path):
    path = tmp_path / "nosource.toml"
    text = HEADER.format(max_regs=10, max_gap=0).split("[source]")[0] + A + DEFAULT_TEST.format(
        fc=4, address=0, words="[0, 0]", name="a_w", value="0")
    path.write_text(text, encoding="utf-8")
    assert _error(path) == (
        "source: a [source] table citing the manufacturer document is required (nosource.toml)")


def test_case_expecting_unknown_register(tmp_path):
    tests = DEFAULT_TEST.format(fc=4, address=0, words="[0, 0]", name="b_w", value="0")
    assert _error(write_profile(tmp_path, A, tests=tests)) == (
        "tests[0].expect.b_w: no such register (bad.toml)")


def test_case_without_the_words_it_needs(tmp_path):
    tests = DEFAULT_TEST.format(fc=4, address=0, words="[0x3F80]", name="a_w", value="1")
    assert _error(write_profile(tmp_path, A, tests=tests)) == (
        "tests[0].expect.a_w: no block holds input register 0x0001 (bad.toml)")


def test_case_expected_value_must_be_exact(tmp_path):
    tests = DEFAULT_TEST.format(fc=4, address=0, words="[0, 0]", name="a_w",
                                value="0").replace('"0" }', "0.5 }")
    assert _error(write_profile(tmp_path, A, tests=tests)) == (
        'tests[0].expect.a_w = 0.5: write it as a string, e.g. "0.01", so it stays exact '
        "(bad.toml)")


def test_case_word_out_of_range(tmp_path):
    tests = DEFAULT_TEST.format(fc=4, address=0, words="[0x10000, 0]", name="a_w", value="0")
    assert _error(write_profile(tmp_path, A, tests=tests)) == (
        "tests[0].blocks[0].words[0] = 65536: not a 16-bit word (bad.toml)")


def test_profile_needs_a_test_case(tmp_path):
    assert _error(write_profile(tmp_path, A, tests="")) == (
        "tests: at least one [[tests]] table is required (bad.toml)")


def test_invalid_toml_names_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('manufacturer = "x\n', encoding="utf-8")
    message = _error(path)
    assert message.startswith("not valid TOML: ")
    assert message.endswith("(broken.toml)")


def test_unknown_profile_name_lists_the_shipped_ones():
    message = _error("sdm999")
    assert message.startswith("unknown profile 'sdm999'; available: ")
    assert "sdm630" in message and "em24" in message


def test_shipped_profile_by_name_file_name_or_path():
    by_name = load_profile("SDM630")
    assert load_profile("sdm630.toml").path == by_name.path
    assert load_profile(by_name.path).model == "SDM630"


def test_missing_file_path():
    assert _error("/nonexistent/meter.toml") == (
        "profile file /nonexistent/meter.toml does not exist")
