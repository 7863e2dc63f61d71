"""Split an amount of integer minor units by weights so the shares sum to it exactly.

This is the rounding rule of every allocation in meterbill (the Hare /
largest-remainder method):

1. each unit's exact quota is ``total * w_i / sum(w)`` (a rational number,
   computed exactly with ``Fraction``: weights may be Decimals such as m²);
2. every unit first gets its quota rounded toward zero;
3. the cents still missing go, one each, to the units with the largest
   fractional remainders; equal remainders go to the smaller unit id first.

The tie-break by unit id makes the result deterministic and independent of the
order in which units are listed.  Negative totals (credits) are split as their
absolute value and negated, so a credit mirrors a charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from billing_core.errors import AllocationError

Weight = int | Decimal | Fraction


def split_by_weights(
    total_cents: int,
    weights: Sequence[Weight],
    unit_ids: Sequence[int | str] | None = None,
    *,
    item: str = "cost",
) -> list[int]:
    """Return one integer share per weight; the shares add up to ``total_cents``.

    ``unit_ids`` orders ties (smaller id first); by default the position.
    Raises AllocationError naming ``item`` when the weights cannot carry the
    total (negative weight, or all weights zero with a non-zero total).
    """
    if not isinstance(total_cents, int) or isinstance(total_cents, bool):
        raise AllocationError(f"{item}: total must be integer minor units, got {total_cents!r}")
    n = len(weights)
    ids: Sequence[int | str] = list(range(n)) if unit_ids is None else unit_ids
    if len(ids) != n:
        raise AllocationError(f"{item}: {n} weights but {len(ids)} unit ids")
    exact = [Fraction(w) for w in weights]
    for uid, w in zip(ids, exact, strict=True):
        if w < 0:
            raise AllocationError(f"{item}: unit {uid} has a negative key value {w}")
    weight_sum = sum(exact, Fraction(0))
    if total_cents == 0:
        return [0] * n
    if weight_sum == 0:
        raise AllocationError(
            f"{item}: key values of all {n} units are zero; cannot split {total_cents} cents"
        )
    sign = -1 if total_cents < 0 else 1
    magnitude = abs(total_cents)
    quotas = [magnitude * w / weight_sum for w in exact]
    shares = [q.numerator // q.denominator for q in quotas]
    missing = magnitude - sum(shares)
    if missing:
        order = sorted(range(n), key=lambda i: (-(quotas[i] - shares[i]), ids[i]))
        for i in order[:missing]:
            shares[i] += 1
    return [sign * s for s in shares]
