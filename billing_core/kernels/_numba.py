"""Numba kernels of the bulk apportionment: one building at a time, in cache.

Same signature, dtypes and cents as the NumPy reference (``_reference.py``);
what differs is how the work is laid out:

* **One building at a time.**  A building's rows of ``weights[U, I]`` are one
  contiguous block (100 units x 12 items = 9.6 kB), so all of its passes run
  in L1 cache and memory is streamed once.  ``apportion`` runs 64 chunks of
  buildings (equal unit counts) in parallel with ``prange``; each chunk owns
  its scratch arrays, each building its rows and its status word, so threads
  share no writes.  ``apportion_serial`` is the same code on one thread.
* **Division without a divide.**  When ``T < 2**51`` and ``W < 2**61`` the
  quotient is estimated in float64 (error below one unit) and corrected with the
  exact remainder ``T*w - q*W``, computed in wrapping uint64 arithmetic: the
  true value lies in ``(-W, 2W)``, inside int64, so the wrap is harmless.
  Otherwise (totals or keys near the int64 bounds) an exact 128-bit
  product and a shift-subtract 128/64 division are used.
* **Rounding by selection, not sorting.**  ``k = T - sum(q) < n`` cents are
  missing.  The remainders are dropped into ``n`` buckets by
  ``int(r * n / W)``, a monotone function of ``r`` (IEEE rounding is
  monotone), so every unit above the bucket holding the k-th largest
  remainder gets a cent for sure; only that bucket (about one unit for
  spread keys) is ordered exactly by ``(r desc, unit id, row)``.  Equal keys
  (one per household) put all units in one bucket: with ascending ids the
  first ``j`` rows win without sorting; otherwise a stable merge sort decides.
  Only that bucket's exact remainders are ever needed, so they are
  recomputed from the floors instead of being stored for every cell.

``cache=True`` keeps the compiled code beside the module, so only the first
run on a machine pays for compilation; call :func:`warm_up` before timing.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike

from billing_core.kernels._protocol import (
    STATUS_NEGATIVE_WEIGHT,
    STATUS_WEIGHT_SUM_OVERFLOW,
    STATUS_ZERO_WEIGHTS,
    Int64Array,
    chunk_bounds,
    new_status,
    output_array,
    prepare,
    raise_for_status,
)

__impl__ = "numba"

_INT64_MAX = np.int64(2**63 - 1)
_FAST_TOTAL_LIMIT = np.int64(2**51)
_FAST_SUM_LIMIT = np.int64(2**61)
_DOUBLE_EXACT = np.int64(2**53)
_TWO_52 = np.float64(2.0**52)
_TWO_52_BITS = np.int64(0x4330000000000000)
_MASK_32 = np.uint64(0xFFFFFFFF)
_SHIFT_32 = np.uint64(32)


@njit(cache=True, inline="always")
def _mul_64x64(a: int, b: int) -> tuple[int, int]:
    """Exact product of two non-negative int64 as (high, low) uint64 words."""
    ua = np.uint64(a)
    ub = np.uint64(b)
    a_lo = ua & _MASK_32
    a_hi = ua >> _SHIFT_32
    b_lo = ub & _MASK_32
    b_hi = ub >> _SHIFT_32
    lo_lo = a_lo * b_lo
    hi_lo = a_hi * b_lo
    lo_hi = a_lo * b_hi
    hi_hi = a_hi * b_hi
    cross = (lo_lo >> _SHIFT_32) + (hi_lo & _MASK_32) + lo_hi
    high = hi_hi + (hi_lo >> _SHIFT_32) + (cross >> _SHIFT_32)
    low = (cross << _SHIFT_32) | (lo_lo & _MASK_32)
    return high, low


@njit(cache=True)
def _divmod_128_by_64(high: np.uint64, low: np.uint64, divisor: int) -> tuple[int, int]:
    """Quotient and remainder of ``high * 2**64 + low`` by ``0 < divisor < 2**63``.

    Needs ``high < divisor`` (the quotient then fits in 64 bits), which holds
    for ``T * w / W`` with ``w <= W``.  Shift-subtract: slow (64 steps) but
    only reached for totals above 2**51 cents (2.2e13 EUR).
    """
    d = np.uint64(divisor)
    rem = high
    quot = np.uint64(0)
    one = np.uint64(1)
    for bit in range(63, -1, -1):
        rem = (rem << one) | ((low >> np.uint64(bit)) & one)
        quot = quot << one
        if rem >= d:
            rem = rem - d
            quot = quot | one
    return np.int64(quot), np.int64(rem)


@njit(cache=True)
def _before(a: int, b: int, rem: np.ndarray, ids: np.ndarray, start: int) -> bool:
    """True if local unit ``a`` gets a missing cent before ``b``: larger r, smaller id, row."""
    if rem[a] != rem[b]:
        return rem[a] > rem[b]
    if ids[start + a] != ids[start + b]:
        return ids[start + a] < ids[start + b]
    return a < b


@njit(cache=True)
def _sort_candidates(
    cand: np.ndarray, m: int, rem: np.ndarray, ids: np.ndarray, start: int, buf: np.ndarray
) -> None:
    """Order ``cand[:m]`` by :func:`_before` (bottom-up merge sort, O(m log m))."""
    src = cand
    dst = buf
    in_buf = False
    width = 1
    while width < m:
        lo = 0
        while lo < m:
            mid = min(lo + width, m)
            hi = min(lo + 2 * width, m)
            a = lo
            b = mid
            out = lo
            while a < mid and b < hi:
                if _before(src[b], src[a], rem, ids, start):
                    dst[out] = src[b]
                    b += 1
                else:
                    dst[out] = src[a]
                    a += 1
                out += 1
            while a < mid:
                dst[out] = src[a]
                a += 1
                out += 1
            while b < hi:
                dst[out] = src[b]
                b += 1
                out += 1
            lo = hi
        src, dst = dst, src
        in_buf = not in_buf
        width *= 2
    if in_buf:
        cand[:m] = buf[:m]


@njit(cache=True)
def _column_sum_overflows(weights: np.ndarray, item: int, start: int, end: int) -> bool:
    """True if the non-negative keys of one column sum past 2**63 - 1 (exact, in halves)."""
    high = np.int64(0)
    low = np.int64(0)
    for u in range(start, end):
        w = weights[u, item]
        high += w >> 32
        low += w & 0xFFFFFFFF
    return high + (low >> 32) >= 2**31


@njit(cache=True)
def _column_quotas_exact(
    magnitude: int,
    weight_sum: int,
    scale: float,
    weights: np.ndarray,
    item: int,
    start: int,
    end: int,
    out: np.ndarray,
    bucket: np.ndarray,
) -> int:
    """Exact 128-bit quotas of one column (totals or key sums beyond the fast bounds)."""
    assigned = np.int64(0)
    top = end - start - 1
    for u in range(start, end):
        high, low = _mul_64x64(magnitude, weights[u, item])
        q, r = _divmod_128_by_64(high, low, weight_sum)
        out[u, item] = q
        k = np.int64(np.float64(r) * scale)
        bucket[u - start, item] = top if k > top else k
        assigned += q
    return assigned


@njit(cache=True)
def _resolve_bucket(
    wanted: int,
    threshold: int,
    item: int,
    start: int,
    n: int,
    ids: np.ndarray,
    ids_ascending: bool,
    weights: np.ndarray,
    magnitude: int,
    weight_sum: int,
    fast: bool,
    out: np.ndarray,
    rem: np.ndarray,
    bucket: np.ndarray,
    cand: np.ndarray,
    buf: np.ndarray,
) -> None:
    """Give ``wanted`` cents inside the threshold bucket, by exact (r, id, row) order.

    Equal keys give equal remainders: with ascending ids the first rows win
    and no remainder is needed.  Otherwise the exact remainders of this
    bucket's units only are recomputed from the floors already in ``out``.
    """
    m = 0
    equal = True
    for j in range(n):
        if bucket[j, item] == threshold:
            if m > 0 and weights[start + j, item] != weights[start + cand[0], item]:
                equal = False
            cand[m] = j
            m += 1
    if not (equal and ids_ascending):
        for c in range(m):
            j = cand[c]
            w = weights[start + j, item]
            if fast:
                floor = np.uint64(out[start + j, item])
                rem[j] = np.int64(
                    np.uint64(magnitude) * np.uint64(w) - floor * np.uint64(weight_sum)
                )
            else:
                high, low = _mul_64x64(magnitude, w)
                _, rem[j] = _divmod_128_by_64(high, low, weight_sum)
        _sort_candidates(cand, m, rem, ids, start, buf)
    for j in range(wanted):
        out[start + cand[j], item] += 1


@njit(cache=True)
def _building(
    b: int,
    totals: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    ids: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
    with_rounding: bool,
    per_item: np.ndarray,
    per_item_f: np.ndarray,
    rem: np.ndarray,
    bucket: np.ndarray,
    per_unit: np.ndarray,
) -> None:
    """Apportion every item of building ``b``; on a fault fill ``status[b]`` and stop.

    Loops run over a unit's items innermost (contiguous, vectorisable); only
    the bucket counting walks one item's units.  The scratch arrays belong to
    the calling chunk: allocating them per building made two threads contend
    on the allocator and run slower than one.
    """
    start = offsets[b]
    end = offsets[b + 1]
    n = end - start
    n_items = weights.shape[1]
    plain_sum = per_item[0]
    bits = per_item[2]
    weight_sum = per_item[3]
    magnitude = per_item[4]
    divisor = per_item[5]
    assigned = per_item[6]
    cut = per_item[7]
    wanted = per_item[8]
    ratio = per_item_f[0]
    scale = per_item_f[1]
    fast_scale = per_item_f[2]
    total_f = per_item_f[3]
    divisor_f = per_item_f[4]
    inverse_f = per_item_f[5]
    q_row = per_item_f[6]
    k_row = per_item_f[7]
    for i in range(n_items):
        plain_sum[i] = 0
        bits[i] = 0
        assigned[i] = 0
        divisor[i] = 1
        ratio[i] = 0.0
        scale[i] = 0.0
        fast_scale[i] = 0.0
        total_f[i] = 0.0
        divisor_f[i] = 1.0
        inverse_f[i] = 1.0
    # One pass: the key sums (wrapping) and the OR of the keys.  The OR shows a
    # negative key by its sign bit and bounds every key from above, so when
    # n * OR < 2**63 the plain sum cannot have overflowed; otherwise the
    # column is summed again exactly (keys near the int64 bounds only).
    for u in range(start, end):
        for i in range(n_items):
            w = weights[u, i]
            bits[i] |= w
            plain_sum[i] = np.int64(np.uint64(plain_sum[i]) + np.uint64(w))
    any_negative_total = False
    any_exact = False
    all_doubles = True
    for i in range(n_items):
        code = 0
        if bits[i] < 0:
            code = STATUS_NEGATIVE_WEIGHT
        elif n > 0 and bits[i] > _INT64_MAX // n and _column_sum_overflows(weights, i, start, end):
            code = STATUS_WEIGHT_SUM_OVERFLOW
        else:
            weight_sum[i] = plain_sum[i]
            if weight_sum[i] == 0 and totals[b, i] != 0:
                code = STATUS_ZERO_WEIGHTS
        if code != 0:
            status[b, 0] = code
            status[b, 1] = i
            return
        total = totals[b, i]
        any_negative_total |= total < 0
        magnitude[i] = -total if total < 0 else total
        if magnitude[i] != 0:
            scale[i] = np.float64(n) / np.float64(weight_sum[i])
            if magnitude[i] < _FAST_TOTAL_LIMIT and weight_sum[i] < _FAST_SUM_LIMIT:
                ratio[i] = np.float64(magnitude[i]) / np.float64(weight_sum[i])
                divisor[i] = weight_sum[i]
                fast_scale[i] = scale[i]
                # Doubles hold T*w and q*W exactly while T*max(w) + W <= 2**53
                # (the OR of the keys bounds max(w)).
                if bits[i] <= (_DOUBLE_EXACT - weight_sum[i]) // magnitude[i]:
                    total_f[i] = np.float64(magnitude[i])
                    divisor_f[i] = np.float64(weight_sum[i])
                    inverse_f[i] = 1.0 / divisor_f[i]
                else:
                    all_doubles = False
            else:
                any_exact = True
                all_doubles = False
    # Share step.  The estimate x = fl(fl(w) * fl(T / W)) carries at most four
    # roundings (w and W may exceed 2**53), a relative error below 2**-51, so
    # |x - T*w/W| < T * 2**-51 < 1: trunc(x) is the floor or one off either
    # way, and r = T*w - q*W lies in (-W, 2W); one correction each way is exact.
    # The bucket int(r * n / W) is monotone in r (IEEE rounding is monotone).
    top = n - 1
    if all_doubles:
        # The usual case, all in doubles (vectorised over the items): P = T*w and
        # q*W are exact integers below 2**53; x = fl(P * fl(1/W)) has two
        # roundings and T < 2**51, so |x - P/W| < 0.5 and one correction each
        # way makes q and r = P - q*W exact.  Same cents as the integer loop.
        # Doubles become int64 by the 2**52 trick (x + 2**52 has x in its low
        # mantissa bits for integers 0 <= x < 2**52): AVX2 has no vector
        # double-to-int64 conversion, and a scalar one per cell halves the speed.
        top_f = np.float64(top)
        q_bits = q_row.view(np.int64)
        k_bits = k_row.view(np.int64)
        for u in range(start, end):
            j = u - start
            for i in range(n_items):
                d = divisor_f[i]
                p = total_f[i] * np.float64(weights[u, i])
                qf = np.floor(p * inverse_f[i])
                rf = p - qf * d
                qf = qf - 1.0 if rf < 0.0 else qf
                rf = rf + d if rf < 0.0 else rf
                qf = qf + 1.0 if rf >= d else qf
                rf = rf - d if rf >= d else rf
                q_row[i] = qf + _TWO_52
                k_row[i] = min(np.floor(rf * scale[i]), top_f) + _TWO_52
            for i in range(n_items):
                q = q_bits[i] - _TWO_52_BITS
                out[u, i] = q
                assigned[i] += q
                if with_rounding:
                    bucket[j, i] = k_bits[i] - _TWO_52_BITS
    for u in range(start, end if not all_doubles else start):
        j = u - start
        for i in range(n_items):
            w = weights[u, i]
            d = divisor[i]
            q = np.int64(np.float64(w) * ratio[i])
            r = np.int64(np.uint64(magnitude[i]) * np.uint64(w) - np.uint64(q) * np.uint64(d))
            q = q - 1 if r < 0 else q
            r = r + d if r < 0 else r
            q = q + 1 if r >= d else q
            r = r - d if r >= d else r
            out[u, i] = q
            assigned[i] += q
            if with_rounding:
                # Items left to the exact path get bucket 0 here (fast_scale 0).
                k = np.int64(np.float64(r) * fast_scale[i])
                bucket[j, i] = top if k > top else k
    if any_exact:
        for i in range(n_items):
            if magnitude[i] != 0 and ratio[i] == 0.0:
                assigned[i] = _column_quotas_exact(
                    magnitude[i], weight_sum[i], scale[i], weights, i, start, end,
                    out, bucket,
                )  # fmt: skip
    if with_rounding:
        # Units above the cut bucket get a cent; ``wanted`` more come from the
        # cut bucket itself when only part of it gets one.
        # (Inlined by hand: as a called function this step cost twice the rest.)
        resolve = False
        count = per_unit[0]
        for i in range(n_items):
            missing = magnitude[i] - assigned[i]
            wanted[i] = 0
            cut[i] = n
            if missing > 0:
                # The bucket holding the missing-th largest remainder.
                for k in range(n):
                    count[k] = 0
                for j in range(n):
                    count[bucket[j, i]] += 1
                threshold = top
                above = np.int64(0)
                while above + count[threshold] < missing:
                    above += count[threshold]
                    threshold -= 1
                if missing - above == count[threshold]:
                    cut[i] = threshold - 1
                else:
                    cut[i] = threshold
                    wanted[i] = missing - above
                    resolve = True
        for u in range(start, end):
            j = u - start
            for i in range(n_items):
                out[u, i] += np.int64(bucket[j, i] > cut[i])
        if resolve:
            ids_ascending = True
            for u in range(start + 1, end):
                if ids[u] < ids[u - 1]:
                    ids_ascending = False
                    break
            for i in range(n_items):
                if wanted[i] > 0:
                    _resolve_bucket(
                        wanted[i], cut[i], i, start, n, ids, ids_ascending, weights,
                        magnitude[i], weight_sum[i], ratio[i] != 0.0,
                        out, rem[i], bucket, per_unit[1], per_unit[2],
                    )  # fmt: skip
    if any_negative_total:
        for u in range(start, end):
            for i in range(n_items):
                if totals[b, i] < 0:
                    out[u, i] = -out[u, i]


@njit(cache=True)
def _chunk(first, last, totals, offsets, weights, ids, out, status, with_rounding):  # type: ignore[no-untyped-def]
    """Apportion buildings ``first:last`` with one set of scratch arrays."""
    largest = 0
    for b in range(first, last):
        largest = max(largest, offsets[b + 1] - offsets[b])
    n_items = weights.shape[1]
    per_item = np.empty((9, n_items), dtype=np.int64)
    per_item_f = np.empty((8, n_items), dtype=np.float64)
    # rem: remainders of one item's cut bucket; bucket: every cell's bucket.
    rem = np.empty((n_items, largest), dtype=np.int64)
    bucket = np.empty((largest, n_items), dtype=np.int64)
    per_unit = np.empty((3, largest if with_rounding else 0), dtype=np.int64)
    for b in range(first, last):
        _building(
            b, totals, offsets, weights, ids, out, status, with_rounding,
            per_item, per_item_f, rem, bucket, per_unit,
        )  # fmt: skip


@njit(cache=True)
def _run_serial(chunks, totals, offsets, weights, ids, out, status, with_rounding):  # type: ignore[no-untyped-def]
    _chunk(0, offsets.shape[0] - 1, totals, offsets, weights, ids, out, status, with_rounding)


@njit(cache=True, parallel=True)
def _run_parallel(chunks, totals, offsets, weights, ids, out, status, with_rounding):  # type: ignore[no-untyped-def]
    for c in prange(chunks.shape[0] - 1):
        _chunk(chunks[c], chunks[c + 1], totals, offsets, weights, ids, out, status, with_rounding)


def _call(
    runner,  # type: ignore[no-untyped-def]
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    unit_ids: ArrayLike | None,
    with_rounding: bool,
    out: Int64Array | None,
) -> Int64Array:
    totals, offsets, w, ids = prepare(item_total_cents, building_offsets, weights, unit_ids)
    out = output_array(out, w.shape)
    status = new_status(offsets.size - 1)
    runner(chunk_bounds(offsets), totals, offsets, w, ids, out, status, with_rounding)
    raise_for_status(status, totals, offsets)
    return out


def apportion(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    unit_ids: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """Return ``int64[U, I]`` cents; buildings run in parallel (``prange``)."""
    return _call(_run_parallel, item_total_cents, building_offsets, weights, unit_ids, True, out)


def apportion_serial(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    unit_ids: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """Same cents as :func:`apportion`, on one thread."""
    return _call(_run_serial, item_total_cents, building_offsets, weights, unit_ids, True, out)


def floor_shares(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """The share step alone (quotas toward zero, signed), buildings in parallel."""
    return _call(_run_parallel, item_total_cents, building_offsets, weights, None, False, out)


def floor_shares_serial(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    *,
    out: Int64Array | None = None,
) -> Int64Array:
    """The share step alone on one thread."""
    return _call(_run_serial, item_total_cents, building_offsets, weights, None, False, out)


def warm_up() -> None:
    """Compile (or load from cache) every specialisation, so timings exclude the JIT."""
    totals = np.array([[7, -5, 0]], dtype=np.int64)
    offsets = np.array([0, 3], dtype=np.int64)
    weights = np.array([[1, 1, 0], [1, 2, 0], [1, 0, 1]], dtype=np.int64)
    ids = np.array([3, 1, 2], dtype=np.int64)
    apportion(totals, offsets, weights, ids)
    apportion_serial(totals, offsets, weights, ids)
    floor_shares(totals, offsets, weights)
    floor_shares_serial(totals, offsets, weights)
