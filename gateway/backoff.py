"""Exponential backoff with full jitter for every reconnect and re-send.

After the n-th consecutive failure the wait is drawn uniformly from
``[0, min(max_s, initial_s · 2ⁿ)]`` ("full jitter", AWS Architecture Blog,
*Exponential Backoff and Jitter*, 2015).  Jitter matters for a fleet: when the
server comes back after an outage, hundreds of gateways that all failed at the
same moment would otherwise retry in lock-step and knock it over again.  The
draw uses an injectable ``random.Random`` so tests can fix the sequence.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial_s: float = 1.0, max_s: float = 300.0, *,
                 rng: random.Random | None = None) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s, got {initial_s}, {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def ceiling_s(self) -> float:
        """The upper bound of the next wait (before jitter)."""
        # cap the exponent so 2**n never overflows after a very long outage
        return min(self.max_s, self.initial_s * 2.0 ** min(self.failures, 60))

    def next_delay_s(self) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        delay = self._rng.uniform(0.0, self.ceiling_s())
        self.failures += 1
        return delay

    def reset(self) -> None:
        """A success: the next failure starts from ``initial_s`` again."""
        self.failures = 0
