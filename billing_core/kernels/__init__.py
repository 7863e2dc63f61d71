"""Bulk apportionment kernels: many buildings x units x cost items, integer cents in and out.

One signature, three implementations (NumPy reference, Numba, Cython), bound
here the way psycopg's ``pq/__init__.py`` binds its libpq wrappers::

    from billing_core import kernels
    shares = kernels.apportion(item_total_cents, building_offsets, weights, unit_ids)
    kernels.__impl__          # "cython", "numba" or "numpy": what actually runs

Layout (CSR by building)
------------------------
``U`` units, ``B`` buildings, ``I`` cost items.  Units are stored building by
building, so each building's rows are one contiguous block that the fast
kernels process in cache:

``item_total_cents``  int64 ``[B, I]`` (or flat ``[B * I]``): each building's
                      cost item totals in minor units (cents, fen); negative
                      totals (credits) are split as their magnitude and negated.
``building_offsets``  int64 ``[B + 1]``: building ``b`` owns units
                      ``building_offsets[b]:building_offsets[b + 1]``
                      (non-decreasing, from 0 to U; empty buildings allowed).
``weights``           int64 ``[U, I]``, row-major: each unit's key value for
                      each item, as a non-negative integer at a scale the
                      caller states and keeps per item (e.g. m² x 10**4,
                      consumption in Wh, person-days, MEA in 1/10000, 1 per
                      household).  Only ratios within a building-item matter.
``unit_ids``          int64 ``[U]``: the tie-break key (smaller id first).
returns               int64 ``[U, I]``: each unit's share in minor units.

Rounding (exactly ``billing_core.largest_remainder.split_by_weights``)
-----------------------------------------------------------------------
Per building-item: quota ``T * w / W`` exact (integer numerator and common
denominator ``W``), floor, then the ``T - sum(floor)`` missing cents go one each
to the largest remainders, ties to the smaller unit id, then the earlier row.
Every building-item column therefore sums exactly to its total.

Bounds
------
``|total| <= 2**63 - 1`` (``-2**63`` is refused) and each building-item's key
sum ``W <= 2**63 - 1`` (weights are checked, not trusted).  Within these
bounds the kernels are exact: ``T * w`` may need 126 bits and is then computed
with 128-bit arithmetic (two-word math in Numba, ``unsigned __int128`` in
Cython, Python ints in the reference).  The fast path covers ``T < 2**51``
cents (2.2e13 EUR) and ``W < 2**61``.  Faults raise ``AllocationError`` naming
the building, the item and the rule: a negative key value, all-zero keys
under a non-zero total, a key sum beyond 2**63 - 1.

Choosing the implementation
---------------------------
``METERBILL_KERNEL=numpy|numba|cython`` forces one; if it cannot be loaded,
``ImportError`` names it and says why.  Unset, the first of
``cython, numba, numpy`` that imports wins: the compiled extension needs no
JIT warm-up and runs chunks of buildings on all cores with OpenMP; Numba's
parallel kernel is as fast once compiled (``cache=True``) but its first call in
a fresh environment compiles for many seconds.  If none loads, the
ImportError lists every attempt.  ``implementation(name)`` returns a given
module (tests and benchmarks use it to compare all three in one run).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import cast

from billing_core.kernels._protocol import ApportionKernel

__all__ = [
    "IMPLEMENTATIONS",
    "ApportionKernel",
    "__impl__",
    "apportion",
    "floor_shares",
    "implementation",
]

#: Implementation names, fastest first, and the modules that provide them.
IMPLEMENTATIONS: dict[str, str] = {
    "cython": "billing_core.kernels._cython",
    "numba": "billing_core.kernels._numba",
    "numpy": "billing_core.kernels._reference",
}


def implementation(name: str) -> ApportionKernel:
    """Import and return the kernel module called ``name`` (``cython``, ``numba``, ``numpy``).

    Raises ImportError naming the implementation and the reason it failed.
    """
    if name not in IMPLEMENTATIONS:
        raise ImportError(
            f"METERBILL_KERNEL={name!r}: unknown kernel implementation; "
            f"choose one of {', '.join(IMPLEMENTATIONS)}"
        )
    try:
        module: ModuleType = importlib.import_module(IMPLEMENTATIONS[name])
    except ImportError as exc:
        hint = (
            " (build it: pip install --no-build-isolation -e . compiles every .pyx)"
            if name == "cython"
            else ""
        )
        raise ImportError(f"apportion kernel {name!r} cannot be loaded: {exc}{hint}") from exc
    return cast(ApportionKernel, module)


def _load(requested: str) -> ApportionKernel:
    """Return the forced implementation, or the fastest one that imports."""
    requested = requested.strip().lower()
    if requested:
        return implementation(requested)
    failures: list[str] = []
    for name in IMPLEMENTATIONS:
        try:
            return implementation(name)
        except ImportError as exc:
            failures.append(f"{name}: {exc}")
    raise ImportError("no apportion kernel could be loaded:\n  " + "\n  ".join(failures))


_module = _load(os.environ.get("METERBILL_KERNEL", ""))
__impl__: str = _module.__impl__
apportion = _module.apportion
floor_shares = _module.floor_shares
