"""The shared rate limit: paces requests, adapts to throttling, and survives being used by two phases."""

from __future__ import annotations

import asyncio
import time

from pncp_pipeline.limiter import AdaptiveRateLimiter


async def _burst(limiter: AdaptiveRateLimiter, n: int) -> float:
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire() for _ in range(n)))
    return time.monotonic() - started


def test_paces_concurrent_callers_and_can_be_shared_across_event_loops() -> None:
    limiter = AdaptiveRateLimiter(rate_per_s=200.0)
    first = asyncio.run(_burst(limiter, 21))   # discovery's loop
    second = asyncio.run(_burst(limiter, 21))  # fetch's loop: the same limiter, a new loop
    assert first >= 20 / 200.0 * 0.9 and second >= 20 / 200.0 * 0.9


def test_throttling_halves_the_rate_down_to_a_floor_and_success_creeps_back() -> None:
    limiter = AdaptiveRateLimiter(rate_per_s=16.0)
    for _ in range(10):
        limiter.throttled()
    assert limiter.rate == limiter.min_rate == 1.0
    limiter.succeeded()
    assert limiter.rate == 1.0 + 16.0 / 20
    for _ in range(100):
        limiter.succeeded()
    assert limiter.rate == 16.0
