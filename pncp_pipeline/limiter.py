"""One request-rate limit shared by every request of a run (discovery and fetch alike).

Adaptive: a 429 or 5xx halves the rate (down to a floor), every clean answer wins back a small
step, so a burst of throttling slows the whole run instead of each worker hammering on its own.
"""

from __future__ import annotations

import asyncio
import time


class AdaptiveRateLimiter:
    def __init__(self, rate_per_s: float, min_rate_per_s: float | None = None) -> None:
        self.max_rate = rate_per_s
        self.min_rate = min_rate_per_s or max(rate_per_s / 16, 0.1)
        self.rate = rate_per_s
        self._next = 0.0

    async def acquire(self) -> None:
        # No lock: nothing awaits between reading and booking the next slot, so on one event loop
        # this is atomic; and the limiter outlives a phase's loop (discovery and fetch share it).
        now = time.monotonic()
        wait = self._next - now
        self._next = max(now, self._next) + 1.0 / self.rate
        if wait > 0:
            await asyncio.sleep(wait)

    def throttled(self) -> None:
        self.rate = max(self.min_rate, self.rate / 2)

    def succeeded(self) -> None:
        self.rate = min(self.max_rate, self.rate + self.max_rate / 20)
