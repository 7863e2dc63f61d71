"""Sliding-window rate limits kept in process memory.

One API process owns its counters; behind several workers each keeps its own,
so the effective limit is per worker (documented trade-off: no shared store
needed for a single-host deployment).  The clock is injectable for tests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from api.auth.errors import RateLimitedError


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: Hashable, what: str) -> None:
        """Count one request for ``key``; raise RateLimitedError past the limit."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = math.ceil(hits[0] + self.window_s - now)
                raise RateLimitedError(
                    f"too many {what}: at most {self.limit} per {int(self.window_s)} s; "
                    f"retry in {max(1, retry)} s", retry_after_s=retry)
            hits.append(now)
