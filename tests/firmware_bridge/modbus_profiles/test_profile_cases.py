"""Every shipped profile's embedded test cases, the way wmbusmeters' drivers/test.sh runs
each driver's telegrams: one parametrized test, one id per profile and case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from firmware_bridge.modbus_profile import list_profiles, load_profile
from firmware_bridge.modbus_request_plan import decode_blocks, plan_reads

REQUIRED_PROFILES = {"sdm630", "sdm120", "em24", "umg96rm", "b23", "calec_st", "generic_water"}


def _cases():
    for name in list_profiles():
        profile = load_profile(name)
        for index, case in enumerate(profile.tests):
            yield pytest.param(name, index, id=f"{name}[{index}] {case.name}")


@pytest.mark.parametrize(("profile_name", "case_index"), list(_cases()))
def test_profile_case_decodes_to_expected_values(profile_name, case_index):
    profile = load_profile(profile_name)
    case = profile.tests[case_index]

    # 1. Each expected register straight from the raw words.
    for name, expected in case.expect.items():
        register = profile.register(name)
        words = case.words_for(register)
        assert register.decode(words) == expected, name
        # The simulators' encoder gives back exactly the words the device sent.
        assert register.encode(expected) == words, name

    # The whole image the simulators serve carries the same words.
    image = profile.register_image(case.expect)
    for name in case.expect:
        register = profile.register(name)
        served = [image[register.function_code][a] for a in range(register.address, register.end)]
        assert served == case.words_for(register), name

    # 2. The gateway path: plan the reads, answer them from the raw words, decode.
    blocks = plan_reads(profile, case.expect)
    answers = []
    for block in blocks:
        words = []
        for address in range(block.address, block.end):
            try:
                words.append(case.word_at(block.function_code, address))
            except KeyError:
                words.append(0)  # a hole the case does not describe
        answers.append(words)
    decoded = decode_blocks(profile, blocks, answers)
    assert {name: decoded[name] for name in case.expect} == dict(case.expect)
    assert all(isinstance(value, Decimal) for value in decoded.values())


def test_required_profiles_are_shipped_and_cite_a_document():
    assert set(list_profiles()) >= REQUIRED_PROFILES
    for name in list_profiles():
        profile = load_profile(name)
        assert profile.source.title and profile.source.version and profile.source.date, name
        assert profile.tests, name
