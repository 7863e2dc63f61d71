"""Hypothesis strategies for apportionment batches in the kernels' CSR layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Batch:
    """One kernel call's arguments as plain lists (also what tests/naive.py takes)."""

    totals: list[list[int]]
    offsets: list[int]
    weights: list[list[int]]
    unit_ids: list[int]
    n_items: int

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n_items = self.n_items
        return (
            np.array(self.totals, dtype=np.int64).reshape(len(self.totals), n_items),
            np.array(self.offsets, dtype=np.int64),
            np.array(self.weights, dtype=np.int64).reshape(len(self.weights), n_items),
            np.array(self.unit_ids, dtype=np.int64),
        )


def _key_column(n: int) -> st.SearchStrategy[list[int]]:
    """Key values of one item in one building: the shapes real keys take, and the extremes."""
    return st.one_of(
        st.lists(st.integers(0, 3), min_size=n, max_size=n),  # zero use, person counts
        st.just([1] * n),  # one per household: every remainder ties
        st.lists(st.integers(100_000, 2_000_000), min_size=n, max_size=n),  # m² x 10**4
        st.lists(st.integers(0, 20_000_000), min_size=n, max_size=n),  # Wh, with zeros
        st.lists(st.integers(0, INT64_MAX // max(n, 1)), min_size=n, max_size=n),  # huge
        # Around the fast path's bound W < 2**61, where doubles no longer hold keys exactly.
        st.lists(
            st.sampled_from([0, 1, 2**59 + 3, 2**60 - 7, 2**61, 2**62 // max(n, 1)]),
            min_size=n,
            max_size=n,
        ),
    )


_TOTAL = st.one_of(
    st.integers(-10_000, 10_000),  # odd cents, credits
    st.integers(-(10**9), 10**9),
    st.integers(2**51 - 5, 2**51 + 5),  # both sides of the fast-path bound
    st.integers(-INT64_MAX, INT64_MAX),
    st.sampled_from([INT64_MAX, -INT64_MAX, 1, -1, 0]),
)


@st.composite
def batches(draw: st.DrawFn, max_buildings: int = 5, max_units: int = 9) -> Batch:
    """Buildings with 0..max_units units, 1..4 items; always a valid batch.

    A building-item whose keys are all zero gets a zero total (the only valid
    total there); unit ids are sometimes shuffled and sometimes repeat, so the
    tie-break by id and then by row is exercised.
    """
    n_items = draw(st.integers(1, 4))
    n_buildings = draw(st.integers(0, max_buildings))
    sizes = [draw(st.integers(0, max_units)) for _ in range(n_buildings)]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    n_units = offsets[-1]
    weights = [[0] * n_items for _ in range(n_units)]
    totals = [[0] * n_items for _ in range(n_buildings)]
    for b, size in enumerate(sizes):
        for i in range(n_items):
            column = draw(_key_column(size))
            if sum(column) > INT64_MAX:
                column = [w // size for w in column]
            for k, w in enumerate(column):
                weights[offsets[b] + k][i] = w
            totals[b][i] = draw(_TOTAL) if sum(column) else 0
    id_style = draw(st.sampled_from(["ascending", "shuffled", "repeating"]))
    if id_style == "ascending":
        unit_ids = list(range(100, 100 + n_units))
    elif id_style == "shuffled":
        unit_ids = draw(st.permutations(range(n_units)))
    else:
        unit_ids = draw(st.lists(st.integers(0, 3), min_size=n_units, max_size=n_units))
    return Batch(totals, offsets, weights, list(unit_ids), n_items)
