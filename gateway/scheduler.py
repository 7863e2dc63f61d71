"""Wall-clock aligned polling: cycles at :00, :15 … and missed cycles counted, not queued.

The grid is anchored at midnight UTC, so a 900 s interval polls at :00, :15,
:30, :45 on every gateway of a fleet, and readings of different buildings
describe the same instants (what interval billing compares).  A cycle keeps
its scheduled instant as timestamp, free of the jitter of when each answer
arrived.  When a cycle overruns (a dead meter's timeouts, a slow bus) the grid
points it covered are counted as missed and skipped: running them late would
stamp readings with instants at which nothing was read.

The clock is injectable.  ``SystemClock`` is the real one;
``ScaledClock`` runs simulated time at ``speed`` times real time from an
anchor, so a fault test runs hundreds of 60 s cycles in seconds, and a
restarted process given the same anchor continues the same timeline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class GatewayClock(Protocol):
    def now(self) -> datetime:
        """Current (possibly simulated) time, UTC-aware."""
        ...

    def real_seconds(self, simulated_s: float) -> float:
        """How many real seconds pass while ``simulated_s`` pass on this clock."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds(self, simulated_s: float) -> float:
        return simulated_s


class ScaledClock:
    """Simulated time: ``start + (time.time() - anchor_unix_s) · speed`` (tests, demos)."""

    def __init__(self, start: datetime, speed: float, anchor_unix_s: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.start = start
        self.speed = speed
        self.anchor_unix_s = time.time() if anchor_unix_s is None else anchor_unix_s

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor_unix_s) * self.speed)

    def real_seconds(self, simulated_s: float) -> float:
        return simulated_s / self.speed


def next_tick(now: datetime, interval_s: int) -> datetime:
    """The first grid instant strictly after ``now`` (grid anchored at midnight UTC)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    return midnight + timedelta(seconds=(int(elapsed // interval_s) + 1) * interval_s)


def missed_between(tick: datetime, following: datetime, interval_s: int) -> int:
    """Grid points strictly between the cycle at ``tick`` and the next one run."""
    return max(0, round((following - tick).total_seconds() / interval_s) - 1)


@dataclass(slots=True)
class ScheduleStats:
    cycles: int = 0
    missed_cycles: int = 0
    last_tick: datetime | None = None


async def run_schedule(clock: GatewayClock, interval_s: int, stop: asyncio.Event,
                       cycle: Callable[[datetime], Awaitable[None]],
                       stats: ScheduleStats) -> None:
    """Call ``cycle(tick)`` on every grid instant until ``stop`` is set.

    ``stop`` is checked between cycles only: a cycle in progress completes, so
    what it read is buffered before the caller drains.
    """
    tick = next_tick(clock.now(), interval_s)
    while not stop.is_set():
        delay_s = clock.real_seconds((tick - clock.now()).total_seconds())
        if delay_s > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay_s)
                return
            except TimeoutError:
                pass
        await cycle(tick)
        stats.cycles += 1
        stats.last_tick = tick
        following = next_tick(max(clock.now(), tick), interval_s)
        stats.missed_cycles += missed_between(tick, following, interval_s)
        tick = following
