# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fopenmp
# distutils: extra_link_args = -fopenmp
"""Cython kernels of the bulk apportionment (C, OpenMP over building chunks).

The same algorithm, signature, dtypes and cents as the Numba kernels
(``_numba.py``, whose docstring explains the three tricks: one building at a
time in cache, float-estimated quotients corrected by the exact remainder,
and bucket selection of the largest remainders).  Differences:

* the exact path for totals or key sums beyond the fast bounds uses the C
  compiler's ``unsigned __int128`` instead of two-word arithmetic;
* wrapping arithmetic is done in ``uint64_t``: signed overflow is undefined
  in C, unsigned wraps by definition;
* chunks of buildings run under ``prange`` (OpenMP, ``-fopenmp`` set above);
  ``apportion_serial`` runs them on the calling thread.
"""

from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

from cython.parallel cimport prange

from billing_core.kernels._protocol import (
    chunk_bounds,
    new_status,
    output_array,
    prepare,
    raise_for_status,
)

cdef extern from *:
    ctypedef unsigned long long uint128 "unsigned __int128"

__impl__ = "cython"

# Status codes, as in billing_core.kernels._protocol.
cdef enum:
    STATUS_NEGATIVE_WEIGHT = 1
    STATUS_ZERO_WEIGHTS = 2
    STATUS_WEIGHT_SUM_OVERFLOW = 3

cdef int64_t FAST_TOTAL_LIMIT = (<int64_t>1) << 51
cdef int64_t FAST_SUM_LIMIT = (<int64_t>1) << 61
cdef int64_t LOW_32 = 0xFFFFFFFF
cdef int64_t INT64_MAX_C = 0x7FFFFFFFFFFFFFFF

# Rows of the per-item int64 scratch block.
cdef enum:
    HIGH = 0
    LOW = 1
    SMALLEST = 2
    WEIGHT_SUM = 3
    MAGNITUDE = 4
    DIVISOR = 5
    ASSIGNED = 6
    CUT = 7
    WANTED = 8
    ITEM_ROWS = 9


cdef inline bint _before(int64_t a, int64_t b, const int64_t* rem,
                         const int64_t* ids) noexcept nogil:
    """True if local unit ``a`` gets a missing cent before ``b``: larger r, smaller id, row."""
    if rem[a] != rem[b]:
        return rem[a] > rem[b]
    if ids[a] != ids[b]:
        return ids[a] < ids[b]
    return a < b


cdef void _sort_candidates(int64_t* cand, int64_t m, const int64_t* rem, const int64_t* ids,
                           int64_t* buf) noexcept nogil:
    """Order ``cand[:m]`` by :func:`_before` (bottom-up merge sort, O(m log m))."""
    cdef int64_t* src = cand
    cdef int64_t* dst = buf
    cdef int64_t* tmp
    cdef int64_t width = 1, lo, mid, hi, a, b, o, j
    while width < m:
        lo = 0
        while lo < m:
            mid = min(lo + width, m)
            hi = min(lo + 2 * width, m)
            a = lo
            b = mid
            o = lo
            while a < mid and b < hi:
                if _before(src[b], src[a], rem, ids):
                    dst[o] = src[b]
                    b += 1
                else:
                    dst[o] = src[a]
                    a += 1
                o += 1
            while a < mid:
                dst[o] = src[a]
                a += 1
                o += 1
            while b < hi:
                dst[o] = src[b]
                b += 1
                o += 1
            lo = hi
        tmp = src
        src = dst
        dst = tmp
        width *= 2
    if src != cand:
        for j in range(m):
            cand[j] = src[j]


cdef bint _column_sum_overflows(const int64_t[:, ::1] weights, int64_t item, int64_t start,
                                int64_t end) noexcept nogil:
    """True if the non-negative keys of one column sum past 2**63 - 1 (exact, in halves)."""
    cdef int64_t high = 0, low = 0, u
    for u in range(start, end):
        high += weights[u, item] >> 32
        low += weights[u, item] & LOW_32
    return high + (low >> 32) >= ((<int64_t>1) << 31)


cdef void _building(
    int64_t b,
    const int64_t[:, ::1] totals,
    const int64_t[::1] offsets,
    const int64_t[:, ::1] weights,
    const int64_t[::1] ids,
    int64_t[:, ::1] out,
    int64_t[:, ::1] status,
    bint with_rounding,
    int64_t* per_item,
    double* ratio,
    double* scale,
    double* fast_scale,
    int64_t* rem,
    int64_t* bucket,
    int64_t* count,
    int64_t* cand,
    int64_t* buf,
    int64_t largest,
) noexcept nogil:
    """Apportion every item of building ``b``; on a fault fill ``status[b]`` and stop.

    ``bucket`` is unit-major (``bucket[j * n_items + i]``), ``count`` item-major
    (``count[i * largest + k]``); ``rem`` holds one item's remainders, filled
    only for the units of the cut bucket.
    """
    cdef int64_t start = offsets[b], end = offsets[b + 1]
    cdef int64_t n = end - start
    cdef int64_t n_items = weights.shape[1]
    cdef int64_t* high = per_item + HIGH * n_items  # the plain key sums
    cdef int64_t* smallest = per_item + SMALLEST * n_items  # the OR of the keys
    cdef int64_t* weight_sum = per_item + WEIGHT_SUM * n_items
    cdef int64_t* magnitude = per_item + MAGNITUDE * n_items
    cdef int64_t* divisor = per_item + DIVISOR * n_items
    cdef int64_t* assigned = per_item + ASSIGNED * n_items
    cdef int64_t* cut = per_item + CUT * n_items
    cdef int64_t* wanted = per_item + WANTED * n_items
    cdef int64_t u, i, j, k, w, total, q, r, d, top = n - 1
    cdef int64_t missing, threshold, above, m
    cdef int code
    cdef bint any_negative_total = False, any_exact = False, resolve = False
    cdef bint ids_ascending, equal
    cdef uint128 product
    cdef uint64_t acc_sum[16]
    cdef int64_t acc_bits[16]
    cdef const int64_t* row
    cdef int64_t* out_row
    cdef int64_t* item_count
    for i in range(n_items):
        high[i] = 0
        smallest[i] = 0
        assigned[i] = 0
        divisor[i] = 1
        ratio[i] = 0.0
        scale[i] = 0.0
        fast_scale[i] = 0.0
    # One pass: the key sums (wrapping, unsigned) and the OR of the keys.  The
    # OR shows a negative key by its sign bit and bounds every key, so when
    # n * OR < 2**63 the sum cannot have overflowed; otherwise the column is
    # summed again in 32-bit halves.  Up to 16 items the accumulators live on
    # the stack, where the compiler knows nothing else writes them.
    if n_items <= 16:
        for i in range(n_items):
            acc_sum[i] = 0
            acc_bits[i] = 0
        for u in range(start, end):
            row = &weights[u, 0]
            for i in range(n_items):
                acc_bits[i] |= row[i]
                acc_sum[i] += <uint64_t>row[i]
        for i in range(n_items):
            high[i] = <int64_t>acc_sum[i]
            smallest[i] = acc_bits[i]
    else:
        for u in range(start, end):
            row = &weights[u, 0]
            for i in range(n_items):
                smallest[i] |= row[i]
                high[i] = <int64_t>(<uint64_t>high[i] + <uint64_t>row[i])
    for i in range(n_items):
        code = 0
        if smallest[i] < 0:
            code = STATUS_NEGATIVE_WEIGHT
        elif n > 0 and smallest[i] > INT64_MAX_C // n and _column_sum_overflows(
                weights, i, start, end):
            code = STATUS_WEIGHT_SUM_OVERFLOW
        else:
            weight_sum[i] = high[i]
            if weight_sum[i] == 0 and totals[b, i] != 0:
                code = STATUS_ZERO_WEIGHTS
        if code != 0:
            status[b, 0] = code
            status[b, 1] = i
            return
        total = totals[b, i]
        if total < 0:
            any_negative_total = True
            magnitude[i] = -total
        else:
            magnitude[i] = total
        if magnitude[i] != 0:
            scale[i] = <double>n / <double>weight_sum[i]
            if magnitude[i] < FAST_TOTAL_LIMIT and weight_sum[i] < FAST_SUM_LIMIT:
                ratio[i] = <double>magnitude[i] / <double>weight_sum[i]
                divisor[i] = weight_sum[i]
                fast_scale[i] = scale[i]
            else:
                any_exact = True
    # Share step: float estimate, corrected once each way by the exact remainder
    # (the estimate is within one unit of T*w/W; proof in _numba.py's _building);
    # with rounding, each remainder's bucket is stored on the way.
    for u in range(start, end):
        j = u - start
        row = &weights[u, 0]
        out_row = &out[u, 0]
        for i in range(n_items):
            w = row[i]
            d = divisor[i]
            q = <int64_t>(<double>w * ratio[i])
            r = <int64_t>(<uint64_t>magnitude[i] * <uint64_t>w - <uint64_t>q * <uint64_t>d)
            if r < 0:
                q -= 1
                r += d
            if r >= d:
                q += 1
                r -= d
            out_row[i] = q
            assigned[i] += q
            if with_rounding:
                # Items left to the exact path get k = 0 here (fast_scale 0), recounted there.
                k = <int64_t>(<double>r * fast_scale[i])
                bucket[j * n_items + i] = top if k > top else k
    if any_exact:
        for i in range(n_items):
            if magnitude[i] != 0 and ratio[i] == 0.0:
                assigned[i] = 0
                for u in range(start, end):
                    j = u - start
                    product = <uint128>magnitude[i] * <uint128>weights[u, i]
                    q = <int64_t>(product / <uint128>weight_sum[i])
                    r = <int64_t>(product % <uint128>weight_sum[i])
                    out[u, i] = q
                    assigned[i] += q
                    if with_rounding:
                        k = <int64_t>(<double>r * scale[i])
                        bucket[j * n_items + i] = top if k > top else k
    if with_rounding:
        for i in range(n_items):
            missing = magnitude[i] - assigned[i]
            wanted[i] = 0
            cut[i] = n
            if missing > 0:
                item_count = count + i * largest
                for k in range(n):
                    item_count[k] = 0
                for j in range(n):
                    item_count[bucket[j * n_items + i]] += 1
                threshold = top
                above = 0
                while above + item_count[threshold] < missing:
                    above += item_count[threshold]
                    threshold -= 1
                if missing - above == item_count[threshold]:
                    cut[i] = threshold - 1
                else:
                    cut[i] = threshold
                    wanted[i] = missing - above
                    resolve = True
        for u in range(start, end):
            j = u - start
            out_row = &out[u, 0]
            for i in range(n_items):
                out_row[i] += bucket[j * n_items + i] > cut[i]
        if resolve:
            ids_ascending = True
            for u in range(start + 1, end):
                if ids[u] < ids[u - 1]:
                    ids_ascending = False
                    break
            for i in range(n_items):
                if wanted[i] > 0:
                    # Equal keys give equal remainders: with ascending ids the
                    # first rows of the cut bucket win and no remainder is needed.
                    m = 0
                    equal = True
                    for j in range(n):
                        if bucket[j * n_items + i] == cut[i]:
                            if m > 0 and weights[start + j, i] != weights[start + cand[0], i]:
                                equal = False
                            cand[m] = j
                            m += 1
                    if not (equal and ids_ascending):
                        # Exact remainders of the cut bucket only (the floor is in out).
                        for k in range(m):
                            j = cand[k]
                            w = weights[start + j, i]
                            if ratio[i] != 0.0:
                                rem[j] = <int64_t>(<uint64_t>magnitude[i] * <uint64_t>w
                                                   - <uint64_t>out[start + j, i]
                                                   * <uint64_t>weight_sum[i])
                            else:
                                product = <uint128>magnitude[i] * <uint128>w
                                rem[j] = <int64_t>(product % <uint128>weight_sum[i])
                        _sort_candidates(cand, m, rem, &ids[start], buf)
                    for j in range(wanted[i]):
                        out[start + cand[j], i] += 1
    if any_negative_total:
        for u in range(start, end):
            for i in range(n_items):
                if totals[b, i] < 0:
                    out[u, i] = -out[u, i]


cdef int _chunk(
    int64_t first,
    int64_t last,
    const int64_t[:, ::1] totals,
    const int64_t[::1] offsets,
    const int64_t[:, ::1] weights,
    const int64_t[::1] ids,
    int64_t[:, ::1] out,
    int64_t[:, ::1] status,
    bint with_rounding,
) noexcept nogil:
    """Apportion buildings ``first:last`` with one set of scratch buffers; -1 if out of memory."""
    cdef int64_t b, largest = 1, n_items = weights.shape[1]
    for b in range(first, last):
        if offsets[b + 1] - offsets[b] > largest:
            largest = offsets[b + 1] - offsets[b]
    cdef int64_t* per_item = <int64_t*>malloc(ITEM_ROWS * n_items * sizeof(int64_t) + 8)
    cdef double* floats = <double*>malloc(3 * n_items * sizeof(double) + 8)
    cdef int64_t* bucket = <int64_t*>malloc(n_items * largest * sizeof(int64_t))
    cdef int64_t* count = <int64_t*>malloc(n_items * largest * sizeof(int64_t))
    cdef int64_t* per_unit = <int64_t*>malloc(3 * largest * sizeof(int64_t))
    cdef int result = 0
    if per_item == NULL or floats == NULL or bucket == NULL or count == NULL or per_unit == NULL:
        result = -1
    else:
        for b in range(first, last):
            _building(b, totals, offsets, weights, ids, out, status, with_rounding,
                      per_item, floats, floats + n_items, floats + 2 * n_items, per_unit, bucket, count,
                      per_unit + largest, per_unit + 2 * largest, largest)
    free(per_item)
    free(floats)
    free(bucket)
    free(count)
    free(per_unit)
    return result


def _run(item_total_cents, building_offsets, weights, unit_ids, bint with_rounding,
         bint parallel, out_a):
    totals_a, offsets_a, weights_a, ids_a = prepare(
        item_total_cents, building_offsets, weights, unit_ids
    )
    out_a = output_array(out_a, weights_a.shape)
    status_a = new_status(offsets_a.size - 1)
    chunks_a = chunk_bounds(offsets_a)
    cdef const int64_t[:, ::1] totals = totals_a
    cdef const int64_t[::1] offsets = offsets_a
    cdef const int64_t[:, ::1] w = weights_a
    cdef const int64_t[::1] ids = ids_a
    cdef int64_t[:, ::1] out = out_a
    cdef int64_t[:, ::1] status = status_a
    cdef const int64_t[::1] chunks = chunks_a
    cdef Py_ssize_t c, n_chunks = chunks.shape[0] - 1
    cdef int failed = 0
    with nogil:
        if parallel:
            for c in prange(n_chunks, schedule="dynamic"):
                failed += _chunk(chunks[c], chunks[c + 1], totals, offsets, w, ids, out,
                                 status, with_rounding) != 0
        else:
            for c in range(n_chunks):
                if _chunk(chunks[c], chunks[c + 1], totals, offsets, w, ids, out, status,
                          with_rounding) != 0:
                    failed = 1
    if failed:
        raise MemoryError("apportionment kernel: scratch buffers could not be allocated")
    raise_for_status(status_a, totals_a, offsets_a)
    return out_a


def apportion(item_total_cents, building_offsets, weights, unit_ids, *, out=None):
    """Return ``int64[U, I]`` cents; chunks of buildings run in parallel (OpenMP)."""
    return _run(item_total_cents, building_offsets, weights, unit_ids, True, True, out)


def apportion_serial(item_total_cents, building_offsets, weights, unit_ids, *, out=None):
    """Same cents as :func:`apportion`, on the calling thread."""
    return _run(item_total_cents, building_offsets, weights, unit_ids, True, False, out)


def floor_shares(item_total_cents, building_offsets, weights, *, out=None):
    """The share step alone (quotas toward zero, signed), in parallel."""
    return _run(item_total_cents, building_offsets, weights, None, False, True, out)


def floor_shares_serial(item_total_cents, building_offsets, weights, *, out=None):
    """The share step alone on the calling thread."""
    return _run(item_total_cents, building_offsets, weights, None, False, False, out)
