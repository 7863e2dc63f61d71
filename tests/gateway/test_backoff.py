"""Exponential backoff with full jitter."""

from __future__ import annotations

import random

import pytest

from gateway.backoff import Backoff


def test_waits_grow_exponentially_up_to_the_cap_and_stay_within_it() -> None:
    backoff = Backoff(0.5, 8.0, rng=random.Random(1))
    ceilings = []
    for _ in range(8):
        ceiling = backoff.ceiling_s()
        delay = backoff.next_delay_s()
        assert 0.0 <= delay <= ceiling
        ceilings.append(ceiling)
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_waits_are_jittered_not_lock_step() -> None:
    delays = set()
    for seed in range(20):
        backoff = Backoff(1.0, 60.0, rng=random.Random(seed))
        for _ in range(4):
            delay = backoff.next_delay_s()
        delays.add(round(delay, 6))
    assert len(delays) == 20


def test_success_starts_over_and_a_long_outage_does_not_overflow() -> None:
    backoff = Backoff(1.0, 30.0, rng=random.Random(3))
    for _ in range(5000):
        backoff.next_delay_s()
    assert backoff.ceiling_s() == 30.0
    backoff.reset()
    assert backoff.ceiling_s() == 1.0


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="initial_s <= max_s"):
        Backoff(10.0, 1.0)
