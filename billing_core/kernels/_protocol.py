"""The contract every apportionment kernel implements, and the checks they share.

A kernel module (``_reference``, ``_numba``, ``_cython``) is a
:class:`ApportionKernel`: it exposes ``__impl__`` and two functions with the
same signature and dtypes in every implementation, as psycopg's ``pq/abc.py``
describes the libpq wrappers.  Array layout and numeric bounds are documented
in ``billing_core/kernels/__init__.py``.

Everything that is the same for all implementations lives here, so that the
implementations differ only in how they compute:

* :func:`prepare` checks shapes, dtypes and the CSR offsets once, in Python,
  before any compiled code runs, and names the argument at fault;
* :func:`raise_for_status` turns the per-building status words written by a
  kernel into an :class:`~billing_core.errors.AllocationError` naming the
  building, the item and the rule (compiled code cannot build messages).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from billing_core.errors import AllocationError

#: Largest magnitude of a cost item total and of a building's key-value sum:
#: 2**63 - 1.  ``-2**63`` is refused because its magnitude has no int64.
INT64_MAX = int(np.iinfo(np.int64).max)

#: Status codes written by kernels into ``status[b, 0]``; ``status[b, 1]`` is the item.
STATUS_OK = 0
STATUS_NEGATIVE_WEIGHT = 1
STATUS_ZERO_WEIGHTS = 2
STATUS_WEIGHT_SUM_OVERFLOW = 3

Int64Array = NDArray[np.int64]


class ApportionKernel(Protocol):
    """One implementation of the bulk apportionment.

    All implementations return identical int64 cents for identical input; the
    NumPy reference (``_reference.py``) is the specification.
    """

    __impl__: str

    def apportion(
        self,
        item_total_cents: ArrayLike,
        building_offsets: ArrayLike,
        weights: ArrayLike,
        unit_ids: ArrayLike,
        *,
        out: Int64Array | None = None,
    ) -> Int64Array:
        """Return ``int64[U, I]`` cents; each building-item column sums to its total.

        Largest-remainder rounding as in ``billing_core.largest_remainder``.
        ``out`` (C-contiguous int64 ``[U, I]``) receives the result when given,
        so a caller billing in batches reuses one buffer instead of faulting
        in fresh pages on every call.
        """
        ...

    def floor_shares(
        self,
        item_total_cents: ArrayLike,
        building_offsets: ArrayLike,
        weights: ArrayLike,
        *,
        out: Int64Array | None = None,
    ) -> Int64Array:
        """Return the share step alone: each quota rounded toward zero, ``int64[U, I]``.

        Exposed so the share step can be benchmarked and tested on its own.
        """
        ...


def _as_int64(name: str, value: ArrayLike, ndim: int) -> Int64Array:
    """Return ``value`` as a C-contiguous int64 array without copying when it already is one.

    Floats are refused rather than cast: money and key values enter the kernels
    as integers at a stated scale, never as binary fractions.
    """
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise AllocationError(f"kernel argument {name}: integer array expected, got {arr.dtype}")
    if arr.ndim != ndim:
        raise AllocationError(
            f"kernel argument {name}: {ndim}-d array expected, got shape {arr.shape}"
        )
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > INT64_MAX:
        raise AllocationError(f"kernel argument {name}: value above int64 range")
    return np.ascontiguousarray(arr, dtype=np.int64)


def prepare(
    item_total_cents: ArrayLike,
    building_offsets: ArrayLike,
    weights: ArrayLike,
    unit_ids: ArrayLike | None = None,
) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
    """Check and normalise the arguments of a kernel call.

    Returns ``(totals[B, I], offsets[B + 1], weights[U, I], unit_ids[U])`` as
    C-contiguous int64 arrays; ``unit_ids`` defaults to the row position.
    ``item_total_cents`` may also be given flat as ``[B * I]``.
    """
    offsets = _as_int64("building_offsets", building_offsets, 1)
    if offsets.size == 0:
        raise AllocationError("kernel argument building_offsets: needs B + 1 >= 1 entries")
    n_buildings = offsets.size - 1
    w = _as_int64("weights", weights, 2)
    n_units, n_items = w.shape
    totals_in = np.asarray(item_total_cents)
    if totals_in.ndim == 1 and totals_in.size == n_buildings * n_items:
        totals_in = totals_in.reshape(n_buildings, n_items)
    totals = _as_int64("item_total_cents", totals_in, 2)
    if totals.shape != (n_buildings, n_items):
        raise AllocationError(
            f"kernel argument item_total_cents: shape {totals.shape} does not match "
            f"{n_buildings} buildings (building_offsets) x {n_items} items (weights)"
        )
    if offsets[0] != 0 or offsets[-1] != n_units:
        raise AllocationError(
            f"kernel argument building_offsets: must run from 0 to {n_units} units, "
            f"got {int(offsets[0])}..{int(offsets[-1])}"
        )
    steps = np.diff(offsets)
    if steps.size and steps.min() < 0:
        bad = int(np.argmax(steps < 0))
        raise AllocationError(
            f"kernel argument building_offsets: decreases at building {bad} "
            f"({int(offsets[bad])} -> {int(offsets[bad + 1])})"
        )
    if totals.size and totals.min() == np.iinfo(np.int64).min:
        b, i = np.unravel_index(int(np.argmin(totals)), totals.shape)
        raise AllocationError(
            f"building {b}, item {i}: total -2**63 cents is outside the supported "
            f"range |total| <= 2**63 - 1"
        )
    if unit_ids is None:
        ids = np.arange(n_units, dtype=np.int64)
    else:
        ids = _as_int64("unit_ids", unit_ids, 1)
        if ids.shape != (n_units,):
            raise AllocationError(
                f"kernel argument unit_ids: {ids.shape[0]} ids for {n_units} units (weights)"
            )
    return totals, offsets, w, ids


#: Chunks of buildings per parallel call: enough to balance uneven buildings over
#: the threads, few enough that each chunk's scratch allocation costs nothing.
PARALLEL_CHUNKS = 64


def chunk_bounds(offsets: Int64Array, chunks: int = PARALLEL_CHUNKS) -> Int64Array:
    """Building indices cutting the units into about ``chunks`` equal parts (CSR order)."""
    n_buildings = offsets.size - 1
    targets = np.linspace(0, int(offsets[n_buildings]), chunks + 1)
    bounds = np.searchsorted(offsets, targets, side="left").astype(np.int64)
    bounds = np.clip(bounds, 0, n_buildings)
    bounds[0] = 0
    bounds[chunks] = n_buildings
    return np.unique(bounds)


def output_array(out: Int64Array | None, shape: tuple[int, ...]) -> Int64Array:
    """Return ``out`` after checking it can take the result, or a new int64 array."""
    if out is None:
        return np.empty(shape, dtype=np.int64)
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.int64
        or out.shape != shape
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise AllocationError(
            f"kernel argument out: writeable C-contiguous int64 array of shape {shape} "
            f"expected, got {got}"
        )
    return out


def new_status(n_buildings: int) -> Int64Array:
    """Allocate the per-building ``[status, item]`` words a kernel fills in."""
    return np.zeros((n_buildings, 2), dtype=np.int64)


def raise_for_status(status: Int64Array, totals: Int64Array, offsets: Int64Array) -> None:
    """Raise AllocationError for the first building whose status is not OK.

    The messages follow ``split_by_weights`` (unit and rule named), so the bulk
    path and the per-building path explain the same fault the same way.
    """
    bad = np.flatnonzero(status[:, 0])
    if bad.size == 0:
        return
    b = int(bad[0])
    code, item = int(status[b, 0]), int(status[b, 1])
    first, last = int(offsets[b]), int(offsets[b + 1])
    where = f"building {b} (units {first}..{last - 1}), item {item}"
    if code == STATUS_NEGATIVE_WEIGHT:
        raise AllocationError(f"{where}: a unit has a negative key value")
    if code == STATUS_ZERO_WEIGHTS:
        raise AllocationError(
            f"{where}: key values of all {last - first} units are zero; "
            f"cannot split {int(totals[b, item])} cents"
        )
    if code == STATUS_WEIGHT_SUM_OVERFLOW:
        raise AllocationError(
            f"{where}: the sum of key values exceeds 2**63 - 1; use a coarser key scale"
        )
    raise AllocationError(f"{where}: kernel status {code}")
