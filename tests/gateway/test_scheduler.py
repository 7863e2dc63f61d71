"""Wall-clock aligned cycles on an injectable clock; missed cycles counted, not queued."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from gateway.scheduler import ScaledClock, ScheduleStats, missed_between, next_tick, run_schedule

T0 = datetime(2026, 3, 1, 10, 7, 31, tzinfo=UTC)


def test_ticks_align_to_the_interval_grid_from_midnight_utc() -> None:
    assert next_tick(T0, 900) == datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    assert next_tick(datetime(2026, 3, 1, 10, 15, tzinfo=UTC), 900) == datetime(
        2026, 3, 1, 10, 30, tzinfo=UTC)
    assert next_tick(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), 3600) == datetime(
        2026, 3, 2, tzinfo=UTC)


def test_missed_grid_points_between_two_cycles_are_counted() -> None:
    tick = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert missed_between(tick, tick + timedelta(minutes=15), 900) == 0
    assert missed_between(tick, tick + timedelta(minutes=60), 900) == 3


def test_scaled_clock_runs_fast_and_continues_from_its_anchor() -> None:
    anchor = time.time() - 10.0  # started 10 real seconds ago, as a restarted process would be
    clock = ScaledClock(T0, 3600.0, anchor_unix_s=anchor)
    assert T0 + timedelta(hours=10) <= clock.now() < T0 + timedelta(hours=11)
    assert clock.real_seconds(3600.0) == 1.0


def run_cycles(interval_s: int, cycles: int, work_s: float = 0.0
               ) -> tuple[list[datetime], ScheduleStats, ScaledClock]:
    clock = ScaledClock(T0, 6000.0)  # a 60 s interval passes in 10 ms
    ticks: list[datetime] = []
    stats = ScheduleStats()

    async def main() -> None:
        stop = asyncio.Event()

        async def cycle(tick: datetime) -> None:
            ticks.append(tick)
            if work_s:
                await asyncio.sleep(work_s)  # an overrunning cycle (a dead meter's timeouts)
            if len(ticks) == cycles:
                stop.set()

        await asyncio.wait_for(run_schedule(clock, interval_s, stop, cycle, stats), timeout=20)

    asyncio.run(main())
    return ticks, stats, clock


def test_cycles_run_on_consecutive_grid_instants_with_scheduled_timestamps() -> None:
    ticks, stats, _ = run_cycles(60, 5)
    assert ticks[0] > T0
    assert all(t.second == 0 and t.microsecond == 0 for t in ticks)
    assert all(b > a and (b - a).total_seconds() % 60 == 0 for a, b in pairwise(ticks))
    assert stats.cycles == 5
    steps = sum(round((b - a).total_seconds() / 60) - 1 for a, b in pairwise(ticks))
    assert stats.missed_cycles == steps


def test_an_overrunning_cycle_skips_grid_points_and_counts_them() -> None:
    # each cycle takes 50 ms real = 300 s simulated = 5 intervals of 60 s
    ticks, stats, _ = run_cycles(60, 3, work_s=0.05)
    gaps = [round((b - a).total_seconds() / 60) for a, b in pairwise(ticks)]
    assert all(g >= 5 for g in gaps)  # never run late to catch up
    # plus the grid points the last cycle overran before the schedule stopped
    assert stats.missed_cycles >= sum(g - 1 for g in gaps) + 4
