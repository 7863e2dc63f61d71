from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core.errors import AllocationError
from billing_core.largest_remainder import split_by_weights


def test_remainders_go_to_largest_fractions() -> None:
    # quotas 33.33.., 33.33.., 33.33.. of 100: one extra cent, to the smallest id on a tie
    assert split_by_weights(100, [1, 1, 1], [3, 1, 2]) == [33, 34, 33]


def test_decimal_weights_are_exact() -> None:
    # 10 cents by 0.1 / 0.2 / 0.7 m²: exact quotas 1, 2, 7 — no float drift
    assert split_by_weights(10, [Decimal("0.1"), Decimal("0.2"), Decimal("0.7")]) == [1, 2, 7]


def test_negative_total_mirrors_positive() -> None:
    assert split_by_weights(-101, [1, 1]) == [-51, -50]


def test_all_zero_weights_refused_with_item_name() -> None:
    with pytest.raises(AllocationError, match="electricity_common: key values of all 2 units"):
        split_by_weights(5, [0, 0], item="electricity_common")


def test_negative_weight_names_unit() -> None:
    with pytest.raises(AllocationError, match="unit 7 has a negative key value"):
        split_by_weights(5, [1, -1], [3, 7])


@given(
    total=st.integers(-10**12, 10**12),
    weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_shares_sum_to_total_and_stay_within_one_cent_of_quota(
    total: int, weights: list[int]
) -> None:
    shares = split_by_weights(total, weights)
    assert sum(shares) == total
    weight_sum = sum(weights)
    for share, w in zip(shares, weights, strict=True):
        quota = Fraction(total * w, weight_sum)
        assert abs(share - quota) < 1


@given(weights=st.lists(st.integers(1, 50), min_size=2, max_size=10), total=st.integers(0, 10**6))
def test_result_does_not_depend_on_listing_order(weights: list[int], total: int) -> None:
    ids = list(range(len(weights)))
    forward = dict(zip(ids, split_by_weights(total, weights, ids), strict=True))
    rev_ids = ids[::-1]
    backward = dict(
        zip(rev_ids, split_by_weights(total, weights[::-1], rev_ids), strict=True)
    )
    assert forward == backward
