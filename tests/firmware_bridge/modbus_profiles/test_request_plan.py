"""Request planning: fewest reads within each device's limits, and decoding the answers."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

import pytest

from firmware_bridge.errors import FrameError, ProfileError
from firmware_bridge.modbus_profile import load_profile
from firmware_bridge.modbus_request_plan import ReadBlock, decode_blocks, plan_reads

from .profile_files import register_toml, write_profile


def _layout(blocks):
    return [(b.function_code, b.address, b.count) for b in blocks]


def test_adjacent_registers_merge_into_one_read(tmp_path):
    body = "".join(register_toml(f"r{i}_w", 2 * i) for i in range(5))
    profile = load_profile(write_profile(tmp_path, body, max_regs=125, tests=_case_for((4, 0, 2))))
    blocks = plan_reads(profile)
    assert blocks == [ReadBlock(4, 0, 10, ("r0_w", "r1_w", "r2_w", "r3_w", "r4_w"))]


def test_function_codes_never_share_a_read(tmp_path):
    body = register_toml("a_w", 0) + register_toml("b_w", 2, extra="function_code = 3\n")
    profile = load_profile(write_profile(tmp_path, body))
    assert _layout(plan_reads(profile)) == [(3, 2, 2), (4, 0, 2)]


def test_request_limit_splits_reads(tmp_path):
    body = "".join(register_toml(f"r{i}_w", 2 * i) for i in range(5))
    profile = load_profile(write_profile(tmp_path, body, max_regs=4, tests=_case_for((4, 0, 2))))
    assert _layout(plan_reads(profile)) == [(4, 0, 4), (4, 4, 4), (4, 8, 2)]


def test_gap_up_to_the_limit_is_read_through_and_beyond_it_splits(tmp_path):
    body = register_toml("a_w", 0) + register_toml("b_w", 5) + register_toml("c_w", 11)
    # holes: 2..4 (3 registers) and 7..10 (4 registers)
    profile3 = load_profile(write_profile(tmp_path, body, max_gap=3, file_name="g3.toml"))
    assert _layout(plan_reads(profile3)) == [(4, 0, 7), (4, 11, 2)]
    profile4 = load_profile(write_profile(tmp_path, body, max_gap=4, file_name="g4.toml"))
    assert _layout(plan_reads(profile4)) == [(4, 0, 13)]
    profile0 = load_profile(write_profile(tmp_path, body, max_gap=0, file_name="g0.toml"))
    assert _layout(plan_reads(profile0)) == [(4, 0, 2), (4, 5, 2), (4, 11, 2)]


def test_em24_plan_respects_its_eleven_word_limit():
    profile = load_profile("em24")
    blocks = plan_reads(profile)
    assert _layout(blocks) == [
        (4, 0x0000, 6),   # V L1..L3
        (4, 0x000C, 10),  # A L1..L3, W L1, W L2 (W L3 would make 12)
        (4, 0x0016, 2),   # W L3
        (4, 0x0028, 2),   # W sum (Hz is 9 registers on: 12 words)
        (4, 0x0033, 3),   # Hz, kWh(+) TOT
    ]
    assert all(b.count <= 11 for b in blocks)


def test_sdm630_reads_everything_in_two_requests():
    blocks = plan_reads(load_profile("sdm630"))
    assert _layout(blocks) == [(4, 0x0000, 76), (4, 0x0156, 2)]


def test_selected_names_only_in_address_order():
    profile = load_profile("sdm630")
    blocks = plan_reads(profile, ["energy_export_kwh", "energy_import_kwh", "energy_import_kwh"])
    assert blocks == [ReadBlock(4, 0x0048, 4, ("energy_import_kwh", "energy_export_kwh"))]


def test_unknown_name_names_the_profile():
    with pytest.raises(ProfileError, match=r"no register 'power_kw' in profile sdm630 "
                                           r"\(sdm630.toml\); known: voltage_l1_v"):
        plan_reads(load_profile("sdm630"), ["power_kw"])


def _fewest_reads(regs, limit, max_gap):
    """Exhaustive DP over runs of the sorted registers: the true minimum."""
    regs = sorted(regs)
    best = [0] + [10**9] * len(regs)
    for j in range(1, len(regs) + 1):
        for i in range(j):
            run = regs[i:j]
            ok = (len({fc for fc, _, _ in run}) == 1
                  and run[-1][1] + run[-1][2] - run[0][1] <= limit
                  and all(b[1] - (a[1] + a[2]) <= max_gap for a, b in itertools.pairwise(run)))
            if ok:
                best[j] = min(best[j], best[i] + 1)
    return best[-1]


def test_greedy_plan_is_never_worse_than_exhaustive_search(tmp_path):
    rng = random.Random(5)
    types = ["uint16", "float32", "uint64"]
    for trial in range(60):
        address, body, regs = 0, "", []
        for i in range(rng.randint(1, 9)):
            fc = rng.choice([3, 4])
            type_ = rng.choice(types)
            count = {"uint16": 1, "float32": 2, "uint64": 4}[type_]
            address += rng.randint(0, 6)
            body += register_toml(f"r{i}_w", address, type_, extra=f"function_code = {fc}\n")
            regs.append((fc, address, count))
            address += count
        limit, max_gap = rng.randint(4, 16), rng.randint(0, 5)
        path = write_profile(tmp_path, body, max_regs=limit, max_gap=max_gap,
                             file_name=f"t{trial}.toml",
                             tests=_case_for(regs[0]))
        blocks = plan_reads(load_profile(path))
        assert len(blocks) == _fewest_reads(regs, limit, max_gap), (regs, limit, max_gap)
        covered = {(b.function_code, a) for b in blocks for a in range(b.address, b.end)}
        assert all((fc, a) in covered for fc, start, n in regs for a in range(start, start + n))
        assert all(b.count <= limit for b in blocks)


def _case_for(reg):
    fc, address, count = reg
    return (f'\n[[tests]]\nname = "t"\nblocks = [{{ function_code = {fc}, address = {address}, '
            f'words = {[0] * count} }}]\nexpect = {{ r0_w = "0" }}\n')


def test_decode_blocks_accepts_a_list_or_a_mapping():
    profile = load_profile("sdm630")
    blocks = plan_reads(profile, ["energy_import_kwh", "energy_total_kwh"])
    answers = [[0x4640, 0xE6AE], [0x4640, 0xF4AE]]
    expected = {"energy_import_kwh": Decimal("12345.67"), "energy_total_kwh": Decimal("12349.17")}
    assert decode_blocks(profile, blocks, answers) == expected
    assert decode_blocks(profile, blocks, dict(zip(blocks, answers, strict=True))) == expected


def test_short_answer_names_the_block():
    profile = load_profile("sdm630")
    blocks = plan_reads(profile, ["energy_import_kwh", "energy_export_kwh"])
    with pytest.raises(FrameError, match=r"FC4 0x0048\+4: expected 4 registers, got 3"):
        decode_blocks(profile, blocks, [[0, 0, 0]])


def test_answer_count_must_match_plan():
    profile = load_profile("sdm630")
    blocks = plan_reads(profile)
    with pytest.raises(FrameError, match="2 blocks planned, 1 answers given"):
        decode_blocks(profile, blocks, [[0] * 76])


def test_nan_from_device_is_an_error_naming_the_register():
    profile = load_profile("sdm630")
    blocks = plan_reads(profile, ["power_w"])
    with pytest.raises(FrameError) as info:
        decode_blocks(profile, blocks, [[0x7FC0, 0x0000]])
    assert info.value.field == "power_w"
    assert "FC4 0x0034+2" in str(info.value) and "nan" in str(info.value)


def test_register_image_refuses_unknown_names_and_unencodable_values():
    profile = load_profile("em24")
    with pytest.raises(ProfileError, match="no register 'volume_m3' in profile em24"):
        profile.register_image({"volume_m3": 1})
    with pytest.raises(ValueError, match=r"frequency_hz = 50.05: not a multiple of its scale 0.1"):
        profile.register_image({"frequency_hz": Decimal("50.05")})
    with pytest.raises(ValueError, match=r"int16 value .*out of range"):
        profile.register_image({"frequency_hz": Decimal("3276.8")})
