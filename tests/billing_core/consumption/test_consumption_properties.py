"""Properties of the engine on generated series: what must hold for any meter.

* A counter that rolls over gives the same consumption as one that never does
  (the same use, shown modulo ``rollover_at``).
* Consumption is additive over a point between the edges, and, with an
  interpolated split point, equal up to the rounding of one interpolation.
* An exchange at any reading instant, with any start value, changes nothing.

The normal suite runs a small count; ``METERBILL_FUZZ_EXAMPLES`` sets it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core.consumption import (
    MeterExchange,
    MeterSegment,
    Reading,
    RegisterSpec,
    build_curve,
    period_consumption,
)
from billing_core.consumption.period_consumption import EDGE_PLACES

EXAMPLES = int(os.environ.get("METERBILL_FUZZ_EXAMPLES", "60"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOP = D(100000)

# Use per step stays below 40 % of the counter's range and the rollover bands
# are widened to 50 %, so every wrap lands in them: a drop is always a rollover.
uses = st.lists(st.decimals(min_value=0, max_value=39999, places=3), min_size=2, max_size=40)
gaps_h = st.lists(st.integers(min_value=1, max_value=72), min_size=40, max_size=40)


def _series(start: D, steps: list[D], gaps: list[int], modulo: D | None) -> list[Reading]:
    t, v, out = T0, start, [Reading(T0, start % modulo if modulo else start, "E")]
    for use, gap in zip(steps, gaps, strict=False):
        t, v = t + timedelta(hours=gap), v + use
        out.append(Reading(t, v % modulo if modulo else v, "E"))
    return out


SPEC = RegisterSpec(rollover_at=TOP, rollover_band=D("0.5"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(start=st.decimals(min_value=0, max_value=99999, places=3), steps=uses, gaps=gaps_h)
def test_rolled_over_counter_gives_the_unrolled_consumption(start: D, steps: list[D],
                                                            gaps: list[int]) -> None:
    plain = build_curve([MeterSegment("E", _series(start, steps, gaps, None))])
    rolled = build_curve([MeterSegment("E", _series(start, steps, gaps, TOP), SPEC)])
    end = plain.points[-1].at
    assert period_consumption(rolled, T0, end).quantity == sum(steps, D(0))
    assert period_consumption(plain, T0, end).quantity == sum(steps, D(0))


@settings(max_examples=EXAMPLES, deadline=None)
@given(steps=uses, gaps=gaps_h, cut_minutes=st.integers(min_value=1, max_value=10_000))
def test_consumption_is_additive_over_any_split(steps: list[D], gaps: list[int],
                                                cut_minutes: int) -> None:
    curve = build_curve([MeterSegment("E", _series(D(5), steps, gaps, None))])
    end = curve.points[-1].at
    middle = min(T0 + timedelta(minutes=cut_minutes), end - timedelta(minutes=1))
    whole = period_consumption(curve, T0, end).quantity
    parts = (period_consumption(curve, T0, middle).quantity
             + period_consumption(curve, middle, end).quantity)
    assert parts == whole  # the interpolated middle cancels exactly
    assert 0 <= period_consumption(curve, T0, middle).quantity <= whole + EDGE_PLACES


@settings(max_examples=EXAMPLES, deadline=None)
@given(steps=uses, gaps=gaps_h, at_index=st.integers(min_value=1, max_value=38),
       new_start=st.decimals(min_value=0, max_value=500, places=1))
def test_exchange_at_a_reading_changes_nothing(steps: list[D], gaps: list[int], at_index: int,
                                               new_start: D) -> None:
    readings = _series(D(100), steps, gaps, None)
    k = min(at_index, len(readings) - 2)
    exchanged_at = readings[k].read_at
    old = [r for r in readings if r.read_at <= exchanged_at]
    offset = new_start - readings[k].value
    new = [Reading(r.read_at, r.value + offset, "N") for r in readings if r.read_at > exchanged_at]
    chain = build_curve([MeterSegment("E", old), MeterSegment("N", new)],
                        [MeterExchange(exchanged_at, "E", "N", readings[k].value, new_start)])
    end = readings[-1].read_at
    assert period_consumption(chain, T0, end).quantity == sum(steps, D(0))
