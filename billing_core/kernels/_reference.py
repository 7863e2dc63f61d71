"""NumPy reference of the bulk apportionment: readable, vectorised, the specification.

Every building-item column is split exactly as
``billing_core.largest_remainder.split_by_weights`` splits one cost item:

1. ``T = |total|``, ``W = sum(w)`` over the building's units (exact, checked
   against int64 overflow);
2. the quota of unit ``u`` is ``T * w_u / W``: its floor ``q_u = T*w_u // W`` and
   its remainder ``r_u = T*w_u % W`` (an integer numerator over the common
   denominator ``W``, so remainders compare exactly, without floats);
3. ``k = T - sum(q)`` cents are missing (``k < n``); they go one each to the ``k``
   units with the largest ``r``, ties to the smaller unit id, then the earlier
   row (the order a stable sort by unit id gives);
4. a negative total is split as ``T`` and negated.

This module does step 3 with one global ``np.lexsort``: clear, but O(N log N)
over all 12 M cells of a city, which is exactly what the fast kernels avoid.
``T * w`` can exceed int64 (totals or keys near the documented bounds); such
cells are computed with Python integers, so the reference is exact everywhere.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from billing_core.kernels._protocol import (
    INT64_MAX,
    STATUS_NEGATIVE_WEIGHT,
    STATUS_WEIGHT_SUM_OVERFLOW,
    STATUS_ZERO_WEIGHTS,
    Int64Array,
    new_status,
    output_array,
    prepare,
    raise_for_status,
)

__impl__ = "numpy"

_LOW_32 = (1 << 32) - 1


def _sum_per_building(values: Int64Array, offsets: Int64Array) -> Int64Array:
    """Sum ``values[U, I]`` over each building's rows -> ``[B, I]`` (0 for empty buildings).

    ``np.add.reduceat`` gives a wrong answer for an empty segment, so it runs
    over the non-empty buildings only; empty ones between them add nothing.
    """
    n_buildings = offsets.size - 1
    sums = np.zeros((n_buildings, values.shape[1]), dtype=np.int64)
    starts = offsets[:-1]
    nonempty = starts < offsets[1:]
    if nonempty.any():
        sums[nonempty] = np.add.reduceat(values, starts[nonempty], axis=0)
    return sums


def _building_status(
    totals: Int64Array, offsets: Int64Array, weights: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """Return the exact key-value sums ``W[B, I]`` and the status words of every building.

    The sum is taken in two 32-bit halves so that its overflow past 2**63 - 1
    is detected, not wrapped.  Per building the first failing item is
    reported; per item a negative key value outranks an overflow, which
    outranks all-zero keys (the order ``split_by_weights`` checks in).
    """
    safe = np.maximum(weights, 0)
    high = _sum_per_building(safe >> 32, offsets)
    low = _sum_per_building(safe & _LOW_32, offsets)
    high = high + (low >> 32)
    low = low & _LOW_32
    overflow = high >= (1 << 31)
    weight_sum = np.where(overflow, 0, (high << 32) | low)
    negative = _sum_per_building((weights < 0).astype(np.int64), offsets) > 0
    zero = (weight_sum == 0) & (totals != 0)
    code = np.select(
        [negative, overflow, zero],
        [STATUS_NEGATIVE_WEIGHT, STATUS_WEIGHT_SUM_OVERFLOW, STATUS_ZERO_WEIGHTS],
        0,
    )
    status = new_status(offsets.size - 1)
    failing = code != 0
    if failing.any():
        first_item = np.argmax(failing, axis=1)
        has_fault = failing.any(axis=1)
        status[has_fault, 0] = code[has_fault, first_item[has_fault]]
        status[has_fault, 1] = first_item[has_fault]
    return weight_sum, status


def _quotas(
    totals: Int64Array, offsets: Int64Array, weights: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
    """Return ``(q, r, W per unit, k per building-item)`` for the magnitudes of the totals.

    Raises AllocationError through the status words before any division.
    """
    weight_sum, status = _building_status(totals, offsets, weights)
    raise_for_status(status, totals, offsets)
    counts = np.diff(offsets)
    magnitude = np.abs(totals)
    per_unit_total = np.repeat(magnitude, counts, axis=0)
    per_unit_sum = np.repeat(weight_sum, counts, axis=0)
    divisor = np.where(per_unit_sum == 0, 1, per_unit_sum)
    # T * w fits in int64 unless T > INT64_MAX // w: those cells take Python ints.
    fits = per_unit_total <= INT64_MAX // np.maximum(weights, 1)
    product = per_unit_total * np.where(fits, weights, 0)
    floor = product // divisor
    remainder = product % divisor
    if not fits.all():
        big = ~fits
        exact = per_unit_total[big].astype(object) * weights[big].astype(object)
        floor[big] = (exact // divisor[big].astype(object)).astype(np.int64)
        remainder[big] = (exact % divisor[big].astype(object)).astype(np.int64)
    missing = magnitude - _sum_per_building(floor, offsets)
    return floor, remainder, per_unit_sum, missing


def floor_shares(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """Return each quota rounded toward zero, with the sign of its total (the share step)."""
    totals, offsets, w, _ = prepare(item_total_cents, building_offsets, weights)
    result = output_array(out, w.shape)
    floor, _, _, _ = _quotas(totals, offsets, w)
    np.multiply(np.repeat(np.sign(totals), np.diff(offsets), axis=0), floor, out=result)
    return result


def apportion(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    unit_ids: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """Return ``int64[U, I]`` cents whose building-item columns sum exactly to the totals."""
    totals, offsets, w, ids = prepare(item_total_cents, building_offsets, weights, unit_ids)
    result = output_array(out, w.shape)
    floor, remainder, _, missing = _quotas(totals, offsets, w)
    n_units, n_items = w.shape
    counts = np.diff(offsets)
    # Cell (u, i) belongs to group g = building(u) * I + i; groups are contiguous after sorting.
    building_of_unit = np.repeat(np.arange(offsets.size - 1, dtype=np.int64), counts)
    group = (building_of_unit[:, None] * n_items + np.arange(n_items)).ravel()
    row = np.repeat(np.arange(n_units, dtype=np.int64), n_items)
    tie_id = np.repeat(ids, n_items)
    # Sort by group, then remainder descending, then unit id, then row (lexsort: last key first).
    order = np.lexsort((row, tie_id, -remainder.ravel(), group))
    group_size = np.repeat(counts, n_items)
    group_start = np.cumsum(group_size) - group_size
    sorted_group = group[order]
    rank = np.arange(order.size, dtype=np.int64) - group_start[sorted_group]
    gets_cent = rank < missing.ravel()[sorted_group]
    shares = floor.ravel().copy()
    shares[order[gets_cent]] += 1
    sign = np.repeat(np.sign(totals), counts, axis=0)
    np.multiply(sign, shares.reshape(n_units, n_items), out=result)
    return result
