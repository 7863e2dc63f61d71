"""Slow, obviously-correct oracles for the fast paths (as stumpy keeps ``tests/naive.py``).

Each function here is a plain loop over buildings, items and units in exact
arithmetic, built on the readable per-item rule, so that the NumPy reference
kernel is checked against something that shares none of its array tricks.
"""

from __future__ import annotations

from collections.abc import Sequence

from billing_core.largest_remainder import split_by_weights


def apportion_naive(
    item_total_cents: Sequence[Sequence[int]],
    building_offsets: Sequence[int],
    weights: Sequence[Sequence[int]],
    unit_ids: Sequence[int],
    n_items: int | None = None,
) -> list[list[int]]:
    """Apportion building by building, item by item, with ``split_by_weights`` (Fractions).

    Same layout as ``billing_core.kernels.apportion``: ``item_total_cents[b][i]``,
    the units of building ``b`` are rows ``building_offsets[b]:building_offsets[b + 1]``
    of ``weights[u][i]``.  Returns ``shares[u][i]`` as Python ints.
    """
    n_units = len(weights)
    if n_items is None:
        n_items = len(weights[0]) if n_units else 0
    shares = [[0] * n_items for _ in range(n_units)]
    for b in range(len(building_offsets) - 1):
        rows = range(int(building_offsets[b]), int(building_offsets[b + 1]))
        ids = [int(unit_ids[u]) for u in rows]
        for i in range(n_items):
            column = [int(weights[u][i]) for u in rows]
            split = split_by_weights(int(item_total_cents[b][i]), column, ids, item=f"item {i}")
            for u, cents in zip(rows, split, strict=True):
                shares[u][i] = cents
    return shares


def floor_shares_naive(
    item_total_cents: Sequence[Sequence[int]],
    building_offsets: Sequence[int],
    weights: Sequence[Sequence[int]],
) -> list[list[int]]:
    """Each unit's exact quota ``|T| * w / sum(w)`` rounded toward zero, with the total's sign."""
    n_units = len(weights)
    n_items = len(weights[0]) if n_units else 0
    shares = [[0] * n_items for _ in range(n_units)]
    for b in range(len(building_offsets) - 1):
        rows = range(int(building_offsets[b]), int(building_offsets[b + 1]))
        for i in range(n_items):
            total = int(item_total_cents[b][i])
            weight_sum = sum(int(weights[u][i]) for u in rows)
            for u in rows:
                if weight_sum:
                    quota = abs(total) * int(weights[u][i]) // weight_sum
                    shares[u][i] = quota if total >= 0 else -quota
    return shares
