"""Chain of oracles for the bulk apportionment kernels.

tests/naive.py (Fractions, one ``split_by_weights`` call per building-item)
checks the NumPy reference; the reference checks every fast kernel.  All
three implementations run in one session: a missing Cython build is an
ImportError in the parametrized tests, so it fails them, never skips.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from billing_core import kernels
from billing_core.errors import AllocationError
from billing_core.kernels import _reference
from tests.billing_core.kernels.strategies import INT64_MAX, Batch, batches
from tests.naive import apportion_naive, floor_shares_naive

_EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_FUZZ = settings(
    max_examples=int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# (implementation, function name) pairs: every compiled entry point is checked.
FAST_APPORTION = [
    ("numba", "apportion"),
    ("numba", "apportion_serial"),
    ("cython", "apportion"),
    ("cython", "apportion_serial"),
]
FAST_FLOOR = [
    ("numba", "floor_shares"),
    ("numba", "floor_shares_serial"),
    ("cython", "floor_shares"),
    ("cython", "floor_shares_serial"),
]
ALL_APPORTION = [("numpy", "apportion"), *FAST_APPORTION]


def _entry(impl: str, name: str):  # type: ignore[no-untyped-def]
    return getattr(kernels.implementation(impl), name)


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{impl}-{name}" for impl, name in pairs]


def _check_reference_against_naive(batch: Batch) -> None:
    totals, offsets, weights, ids = batch.arrays()
    expected = apportion_naive(batch.totals, batch.offsets, batch.weights, batch.unit_ids)
    got = _reference.apportion(totals, offsets, weights, ids)
    assert got.dtype == np.int64
    assert got.tolist() == expected
    floors = _reference.floor_shares(totals, offsets, weights)
    assert floors.tolist() == floor_shares_naive(batch.totals, batch.offsets, batch.weights)


@_EXAMPLES
@given(batch=batches())
def test_reference_matches_naive_split_by_weights(batch: Batch) -> None:
    _check_reference_against_naive(batch)


@pytest.mark.parametrize(("impl", "name"), FAST_APPORTION, ids=_ids(FAST_APPORTION))
def test_fast_kernel_matches_reference(impl: str, name: str) -> None:
    apportion = _entry(impl, name)

    @_EXAMPLES
    @given(batch=batches())
    def check(batch: Batch) -> None:
        args = batch.arrays()
        assert apportion(*args).tolist() == _reference.apportion(*args).tolist()

    check()


@pytest.mark.parametrize(("impl", "name"), FAST_FLOOR, ids=_ids(FAST_FLOOR))
def test_fast_share_step_matches_reference(impl: str, name: str) -> None:
    floor_shares = _entry(impl, name)

    @_EXAMPLES
    @given(batch=batches())
    def check(batch: Batch) -> None:
        totals, offsets, weights, _ = batch.arrays()
        expected = _reference.floor_shares(totals, offsets, weights)
        assert floor_shares(totals, offsets, weights).tolist() == expected.tolist()

    check()


@pytest.mark.parametrize(("impl", "name"), ALL_APPORTION, ids=_ids(ALL_APPORTION))
def test_columns_sum_to_totals_on_a_large_mixed_batch(impl: str, name: str) -> None:
    """300 buildings of 0..300 units: every building-item column adds up to its total."""
    rng = np.random.default_rng(20261123)
    sizes = rng.integers(0, 300, 300)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_units = int(offsets[-1])
    weights = np.stack(
        [
            rng.integers(300_000, 2_000_000, n_units),  # area
            rng.integers(0, 20_000_000, n_units) * (rng.random(n_units) > 0.1),  # Wh
            np.ones(n_units, dtype=np.int64),  # per household
            rng.integers(0, 3, n_units),  # persons, many zero
        ],
        axis=1,
    )
    totals = rng.integers(-50_000_000, 50_000_000, (sizes.size, 4))
    starts = offsets[:-1]
    nonempty = sizes > 0
    weights[starts[nonempty], 3] += 1  # keep every non-empty building's persons key non-zero
    totals[~nonempty] = 0
    ids = rng.permutation(n_units).astype(np.int64)
    shares = _entry(impl, name)(totals, offsets, weights, ids)
    sums = np.zeros_like(totals)
    np.add.at(sums, np.repeat(np.arange(sizes.size), sizes), shares)
    assert (sums == totals).all()
    assert shares.tolist() == _reference.apportion(totals, offsets, weights, ids).tolist()


@pytest.mark.parametrize(("impl", "name"), ALL_APPORTION, ids=_ids(ALL_APPORTION))
def test_extreme_totals_and_keys_split_exactly(impl: str, name: str) -> None:
    """T * w needs 126 bits here; the kernels must not overflow (documented bounds)."""
    # Columns: 126-bit products; negated; key sum at the int64 limit; total at the
    # fast path's bound; the largest fast-path case (T < 2**51, W = 2**61 - 5).
    totals = np.array([[INT64_MAX, -INT64_MAX, INT64_MAX, 2**51, 2**51 - 1]], dtype=np.int64)
    weights = np.array(
        [
            [2**62, 1, INT64_MAX - 2, 2**61 - 1, 2**60 - 7],
            [2**62 - 1, 1, 1, 2**61, 2**60 - 3],
            [0, 1, 1, 1, 5],
        ],
        dtype=np.int64,
    )
    offsets = np.array([0, 3], dtype=np.int64)
    ids = np.array([7, 5, 6], dtype=np.int64)
    got = _entry(impl, name)(totals, offsets, weights, ids)
    expected = apportion_naive(totals.tolist(), offsets.tolist(), weights.tolist(), ids.tolist())
    assert got.tolist() == expected
    assert got.sum(axis=0, dtype=object).tolist() == totals[0].tolist()


@pytest.mark.parametrize(("impl", "name"), ALL_APPORTION, ids=_ids(ALL_APPORTION))
def test_ties_go_to_smaller_unit_id_then_earlier_row(impl: str, name: str) -> None:
    """Five households, 103 cents: three get 21, the ids 2, 4 and 9 win, not rows 0-2."""
    totals = np.array([[103, -103]], dtype=np.int64)
    weights = np.ones((5, 2), dtype=np.int64)
    ids = np.array([9, 4, 11, 2, 30], dtype=np.int64)
    got = _entry(impl, name)(totals, np.array([0, 5]), weights, ids)
    assert got[:, 0].tolist() == [21, 21, 20, 21, 20]
    assert got[:, 1].tolist() == [-21, -21, -20, -21, -20]
    same_ids = _entry(impl, name)(totals, np.array([0, 5]), weights, np.zeros(5, dtype=np.int64))
    assert same_ids[:, 0].tolist() == [21, 21, 21, 20, 20]


_WHERE = "building 0 (units 0..1), item"
_FAULTS = [
    pytest.param(
        [[100]], [[-1], [2]], f"{_WHERE} 0: a unit has a negative key value", id="negative-key"
    ),
    pytest.param(
        [[0, 100]],
        [[1, 0], [1, 0]],
        f"{_WHERE} 1: key values of all 2 units are zero; cannot split 100 cents",
        id="all-zero-keys",
    ),
    pytest.param(
        [[1]],
        [[INT64_MAX], [1]],
        f"{_WHERE} 0: the sum of key values exceeds 2**63 - 1",
        id="key-sum-overflow",
    ),
    pytest.param(
        [[-(2**63)]],
        [[1], [1]],
        "building 0, item 0: total -2**63 cents is outside the supported range",
        id="int64-min-total",
    ),
]


@pytest.mark.parametrize(("impl", "name"), ALL_APPORTION, ids=_ids(ALL_APPORTION))
@pytest.mark.parametrize(("totals", "weights", "message"), _FAULTS)
def test_bad_batch_raises_allocation_error_naming_building_and_item(
    impl: str, name: str, totals: list[list[int]], weights: list[list[int]], message: str
) -> None:
    with pytest.raises(AllocationError, match=re.escape(message)):
        _entry(impl, name)(
            np.array(totals, dtype=np.int64), np.array([0, 2]), np.array(weights), np.arange(2)
        )


@pytest.mark.parametrize(
    ("offsets", "message"),
    [([0, 2, 1, 3], "decreases at building 1"), ([0, 2], "must run from 0 to 3 units")],
)
def test_bad_offsets_are_refused_before_any_kernel_runs(offsets: list[int], message: str) -> None:
    weights = np.ones((3, 1), dtype=np.int64)
    totals = np.zeros((len(offsets) - 1, 1), dtype=np.int64)
    for impl in kernels.IMPLEMENTATIONS:
        with pytest.raises(AllocationError, match=message):
            kernels.implementation(impl).apportion(totals, offsets, weights, np.arange(3))


def test_float_key_values_are_refused() -> None:
    with pytest.raises(AllocationError, match="weights: integer array expected, got float64"):
        kernels.apportion(np.array([[10]]), np.array([0, 1]), np.array([[1.5]]), np.arange(1))


def test_flat_totals_are_accepted_as_buildings_by_items() -> None:
    weights = np.array([[1, 1], [1, 3]], dtype=np.int64)
    flat = kernels.apportion(np.array([10, 8]), np.array([0, 2]), weights, np.arange(2))
    assert flat.tolist() == [[5, 2], [5, 6]]


def test_default_binding_is_the_fastest_loadable_and_visible() -> None:
    forced = os.environ.get("METERBILL_KERNEL")
    assert kernels.__impl__ == (forced or "cython")
    assert kernels.apportion is kernels.implementation(kernels.__impl__).apportion


def test_environment_variable_forces_an_implementation() -> None:
    code = "from billing_core import kernels; print(kernels.__impl__)"
    env = {**os.environ, "METERBILL_KERNEL": "numpy"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "numpy"
    env["METERBILL_KERNEL"] = "fortran"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "METERBILL_KERNEL='fortran': unknown kernel implementation" in run.stderr


def test_failed_forced_implementation_names_it_and_the_reason() -> None:
    with pytest.raises(ImportError, match="unknown kernel implementation; choose one of cython"):
        kernels._load("fortran")


@pytest.mark.fuzz
@_FUZZ
@given(batch=batches(max_buildings=8, max_units=40))
def test_fuzz_all_implementations_agree_with_naive(batch: Batch) -> None:
    _check_reference_against_naive(batch)
    args = batch.arrays()
    expected = _reference.apportion(*args).tolist()
    for impl, name in FAST_APPORTION:
        assert _entry(impl, name)(*args).tolist() == expected


@pytest.mark.parametrize(("impl", "name"), ALL_APPORTION, ids=_ids(ALL_APPORTION))
def test_out_buffer_is_filled_and_returned(impl: str, name: str) -> None:
    """A reused buffer full of stale cents gets every cell overwritten."""
    totals = np.array([[10, 0], [7, -7]], dtype=np.int64)
    weights = np.array([[1, 5], [3, 0], [1, 1], [1, 2]], dtype=np.int64)
    offsets = np.array([0, 2, 4], dtype=np.int64)
    out = np.full((4, 2), 999, dtype=np.int64)
    got = _entry(impl, name)(totals, offsets, weights, np.arange(4), out=out)
    assert got is out
    assert out.tolist() == [[3, 0], [7, 0], [4, -2], [3, -5]]


@pytest.mark.parametrize("impl", list(kernels.IMPLEMENTATIONS))
def test_out_buffer_of_wrong_shape_is_refused(impl: str) -> None:
    with pytest.raises(AllocationError, match=r"kernel argument out: .* shape \(2, 1\)"):
        kernels.implementation(impl).floor_shares(
            np.array([[1]]), np.array([0, 2]), np.ones((2, 1), dtype=np.int64),
            out=np.empty((1, 2), dtype=np.int64),
        )  # fmt: skip
