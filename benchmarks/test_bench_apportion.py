"""Bulk apportionment: 1M units in 10k buildings with 12 cost items (issue 8).

Two groups, each printed side by side by pytest-benchmark and by
``benchmarks/report.py``:

``apportion-1m-units-12-items``
    the whole job (share step and largest-remainder rounding, argument checks
    and the output allocation included): a plain Python loop (integer
    arithmetic and ``sorted``, run on a sample of buildings and extrapolated
    to the full size by ``extra_info["extrapolation_factor"]``), the NumPy
    reference, Numba serial and parallel, Cython serial and parallel.
``apportion-share-step-1m-units-12-items``
    the share step alone (``floor_shares``: exact quotas rounded toward zero)
    for the same kernels, and a memory-bandwidth reference: the STREAM triad
    ``a = b + s * c`` in NumPy over float64 arrays of the same shape.  Each
    entry records the bytes it must move (``extra_info["bytes"]``: the share
    step reads the keys and writes the shares, 2 x 8 bytes a cell; the triad
    counts 3 x 8) so the report prints effective GB/s and the fraction of the
    triad's bandwidth.

Floors from the issue (checked by reading the report, never asserted):
whole job with the fastest kernel >= 50x the Python loop and <= 100 ms;
share step >= 1/3 of the triad's effective bandwidth.  Numba is compiled
(or loaded from its cache) before any timed round.  Run with

    .venv/bin/python benchmarks/report.py -k apportion
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from billing_core import kernels

N_UNITS = 1_000_000
N_BUILDINGS = 10_000
N_ITEMS = 12
SAMPLE_BUILDINGS = 100
GROUP = f"apportion-{N_UNITS // 1_000_000}m-units-{N_ITEMS}-items"
SHARE_GROUP = f"apportion-share-step-{N_UNITS // 1_000_000}m-units-{N_ITEMS}-items"


@dataclass(frozen=True)
class Workload:
    totals: np.ndarray
    offsets: np.ndarray
    weights: np.ndarray
    unit_ids: np.ndarray

    @property
    def cells(self) -> int:
        return int(self.weights.size)


def _make_workload() -> Workload:
    """A city's housing stock: 10k buildings of 5..195 units, the keys of issue 8.

    Items 0-11 use the keys a German or Chinese bill uses, at integer scales:
    living and heated area (m² x 10**4), person-days, one per household (all
    remainders tie), ownership shares (1/10000), heat and hot-water
    consumption (Wh, some units zero), and again area and households for the
    remaining BetrKV items.
    """
    rng = np.random.default_rng(8)
    sizes = rng.integers(5, 196, N_BUILDINGS)
    sizes = np.maximum(1, np.round(sizes * (N_UNITS / sizes.sum()))).astype(np.int64)
    sizes[-1] += N_UNITS - sizes.sum()
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    area = rng.integers(250_000, 1_800_000, N_UNITS)
    persons = rng.integers(0, 5, N_UNITS)
    occupied_days = rng.integers(0, 366, N_UNITS)
    heat_wh = rng.integers(0, 25_000_000, N_UNITS) * (rng.random(N_UNITS) > 0.05)
    water_wh = rng.integers(0, 4_000_000, N_UNITS) * (rng.random(N_UNITS) > 0.05)
    columns = [
        area,  # living area
        area - area // 10,  # heated area
        persons * occupied_days,  # person-days
        np.ones(N_UNITS, dtype=np.int64),  # per household
        rng.integers(50, 400, N_UNITS),  # MEA
        heat_wh,
        water_wh,
        area,
        persons * occupied_days,
        np.ones(N_UNITS, dtype=np.int64),
        area,
        heat_wh // 3,
    ]
    weights = np.ascontiguousarray(np.stack(columns, axis=1).astype(np.int64))
    weights[offsets[:-1]] += 1  # every building has a non-zero key for every item
    totals = rng.integers(10_000, 25_000_000, (N_BUILDINGS, N_ITEMS))
    unit_ids = np.arange(N_UNITS, dtype=np.int64) * 3 + 1000
    return Workload(totals, offsets, weights, unit_ids)


@pytest.fixture(scope="module")
def workload() -> Workload:
    work = _make_workload()
    from billing_core.kernels import _numba

    _numba.warm_up()
    return work


def apportion_python_loop(
    totals: list[list[int]], offsets: list[int], weights: list[list[int]], unit_ids: list[int]
) -> list[list[int]]:
    """The plain-Python baseline: the same rule with ints, ``divmod`` and ``sorted``."""
    n_items = len(totals[0])
    shares = [[0] * n_items for _ in weights]
    for b in range(len(offsets) - 1):
        rows = range(offsets[b], offsets[b + 1])
        for i in range(n_items):
            total = totals[b][i]
            magnitude = abs(total)
            weight_sum = sum(weights[u][i] for u in rows)
            floors: list[int] = []
            remainders: list[int] = []
            for u in rows:
                q, r = divmod(magnitude * weights[u][i], weight_sum)
                floors.append(q)
                remainders.append(r)
            missing = magnitude - sum(floors)
            order = sorted(range(len(rows)), key=lambda j: (-remainders[j], unit_ids[rows[j]], j))
            for j in order[:missing]:
                floors[j] += 1
            sign = -1 if total < 0 else 1
            for j, u in enumerate(rows):
                shares[u][i] = sign * floors[j]
    return shares


def _sample(work: Workload) -> tuple[list[list[int]], list[int], list[list[int]], list[int]]:
    """The first SAMPLE_BUILDINGS buildings, rebased, as Python lists."""
    last = int(work.offsets[SAMPLE_BUILDINGS])
    return (
        work.totals[:SAMPLE_BUILDINGS].tolist(),
        work.offsets[: SAMPLE_BUILDINGS + 1].tolist(),
        work.weights[:last].tolist(),
        work.unit_ids[:last].tolist(),
    )


@pytest.mark.benchmark(group=GROUP)
def test_apportion_python_loop_sampled(benchmark, workload: Workload) -> None:  # type: ignore[no-untyped-def]
    sample = _sample(workload)
    sampled_units = len(sample[2])
    benchmark.extra_info["extrapolation_factor"] = N_UNITS / sampled_units
    benchmark.extra_info["sampled_units"] = sampled_units
    result = benchmark.pedantic(apportion_python_loop, args=sample, rounds=3, iterations=1)
    # The baseline computes the same cents as the kernels (a correctness check, not timing).
    fast = kernels.apportion(*(np.array(part) for part in sample))
    assert fast.tolist() == result


def _kernel(impl: str, name: str) -> Callable[..., np.ndarray]:
    return getattr(kernels.implementation(impl), name)  # type: ignore[no-any-return]


# (implementation, entry point, rounds).  The output buffer is allocated once,
# as the triad's is, and passed as ``out=``: a fresh 96 MB array per call
# costs ~24k page faults, which is the kernel's cost, not the algorithm's.  One
# entry keeps the fresh allocation so that cost stays visible.
WHOLE_JOB = [
    pytest.param("numpy", "apportion", 3, id="numpy"),
    pytest.param("numba", "apportion_serial", 10, id="numba-serial"),
    pytest.param("numba", "apportion", 20, id="numba-parallel"),
    pytest.param("cython", "apportion_serial", 10, id="cython-serial"),
    pytest.param("cython", "apportion", 20, id="cython-parallel"),
]
SHARE_STEP = [
    pytest.param("numpy", "floor_shares", 3, id="numpy"),
    pytest.param("numba", "floor_shares_serial", 10, id="numba-serial"),
    pytest.param("numba", "floor_shares", 20, id="numba-parallel"),
    pytest.param("cython", "floor_shares_serial", 10, id="cython-serial"),
    pytest.param("cython", "floor_shares", 20, id="cython-parallel"),
]


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize(("impl", "name", "rounds"), WHOLE_JOB)
def test_apportion(benchmark, workload: Workload, impl: str, name: str, rounds: int) -> None:  # type: ignore[no-untyped-def]
    kernel = _kernel(impl, name)
    out = np.empty_like(workload.weights)
    args = (workload.totals, workload.offsets, workload.weights, workload.unit_ids)
    benchmark.extra_info["cells"] = workload.cells
    benchmark.pedantic(
        kernel, args=args, kwargs={"out": out}, rounds=rounds, iterations=1, warmup_rounds=1
    )
    sums = np.add.reduceat(out, workload.offsets[:-1], axis=0)
    assert (sums == workload.totals).all()


@pytest.mark.benchmark(group=GROUP)
def test_apportion_fresh_output_cython_parallel(benchmark, workload: Workload) -> None:  # type: ignore[no-untyped-def]
    kernel = _kernel("cython", "apportion")
    args = (workload.totals, workload.offsets, workload.weights, workload.unit_ids)
    shares = benchmark.pedantic(kernel, args=args, rounds=20, iterations=1, warmup_rounds=1)
    assert shares.shape == workload.weights.shape


@pytest.mark.benchmark(group=SHARE_GROUP)
@pytest.mark.parametrize(("impl", "name", "rounds"), SHARE_STEP)
def test_share_step(benchmark, workload: Workload, impl: str, name: str, rounds: int) -> None:  # type: ignore[no-untyped-def]
    kernel = _kernel(impl, name)
    out = np.empty_like(workload.weights)
    args = (workload.totals, workload.offsets, workload.weights)
    benchmark.extra_info["bytes"] = 2 * 8 * workload.cells  # keys in, shares out
    benchmark.pedantic(
        kernel, args=args, kwargs={"out": out}, rounds=rounds, iterations=1, warmup_rounds=1
    )
    assert (out >= 0).all() and (np.add.reduceat(out, workload.offsets[:-1], axis=0)
                                 <= workload.totals).all()  # fmt: skip


@pytest.mark.benchmark(group=SHARE_GROUP)
def test_share_step_bandwidth_reference_triad(benchmark, workload: Workload) -> None:  # type: ignore[no-untyped-def]
    """STREAM triad a = b + s*c over float64 arrays shaped like the keys (3 x 8 bytes a cell)."""
    shape = workload.weights.shape
    rng = np.random.default_rng(1)
    b = rng.random(shape)
    c = rng.random(shape)
    a = np.empty(shape)

    def triad() -> None:
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)

    benchmark.extra_info["bytes"] = 3 * 8 * workload.cells
    benchmark.extra_info["bandwidth_reference"] = True
    benchmark.pedantic(triad, rounds=20, iterations=1, warmup_rounds=1)
    assert np.allclose(a[:3], b[:3] + 3.0 * c[:3])
