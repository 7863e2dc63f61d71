"""The bulk kernels agree with the per-building statement path (``split_item``).

``billing_core.building_apportionment.split_item`` is what a tenant's statement
shows; for an item split by one key (percentage 100) its per-party cents must
be exactly the kernel's.  Party ids are zero-padded strings so that their
order (the statement's tie-break) is the order of the kernel's integer ids.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import kernels
from billing_core.building_apportionment import split_item

IMPLEMENTATIONS = list(kernels.IMPLEMENTATIONS)


@st.composite
def buildings(draw: st.DrawFn) -> tuple[list[int], list[list[int]], list[int]]:
    """Buildings of 1..12 parties, each with a total and one integer key per item."""
    n_buildings = draw(st.integers(1, 4))
    n_items = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 12)) for _ in range(n_buildings)]
    weights: list[list[int]] = []
    totals: list[int] = []
    for size in sizes:
        for _ in range(n_items):
            totals.append(draw(st.integers(-(10**7), 10**7)))
        rows = [
            [draw(st.integers(0, 5) | st.integers(10_000, 2_000_000)) for _ in range(n_items)]
            for _ in range(size)
        ]
        for i in range(n_items):
            if not any(row[i] for row in rows):
                rows[0][i] = 1
        weights.extend(rows)
    return sizes, weights, totals


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_kernel_cents_equal_statement_split_item(impl: str) -> None:
    apportion = kernels.implementation(impl).apportion

    @settings(max_examples=30, deadline=None)
    @given(case=buildings(), id_order=st.randoms(use_true_random=False))
    def check(case: tuple[list[int], list[list[int]], list[int]], id_order) -> None:  # type: ignore[no-untyped-def]
        sizes, weights, flat_totals = case
        n_items = len(weights[0])
        unit_ids = list(range(len(weights)))
        id_order.shuffle(unit_ids)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        got = apportion(
            np.array(flat_totals, dtype=np.int64).reshape(len(sizes), n_items),
            offsets, np.array(weights, dtype=np.int64), np.array(unit_ids, dtype=np.int64),
        )  # fmt: skip
        for b in range(len(sizes)):
            rows = range(int(offsets[b]), int(offsets[b + 1]))
            party_ids = [f"{unit_ids[u]:08d}" for u in rows]
            for i in range(n_items):
                per_party, _ = split_item(
                    flat_totals[b * n_items + i],
                    [Fraction(100)],
                    [[Fraction(weights[u][i]) for u in rows]],
                    party_ids,
                )
                assert [int(got[u, i]) for u in rows] == per_party

    check()
