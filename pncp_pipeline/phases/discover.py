"""discover: request page 1 of every task that has no totals yet, and learn its size from the server.

`claim` and `settle` are the phase's two ends in the control table; the engine runs them around
fetch's stream instead (fetch.fetch with `discover`), so page 1s and other pages share the slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pncp_pipeline import control
from pncp_pipeline.client import PncpClient
from pncp_pipeline.control import PageRequest
from pncp_pipeline.limiter import AdaptiveRateLimiter
from pncp_pipeline.phases.download import Logger, download
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory
from pncp_pipeline.writer import Database, RawWriter


@dataclass(frozen=True)
class DiscoverResult:
    claimed: int


async def claim(db: Database, scope: Scope, run_id: str, log: Logger) -> list[PageRequest]:
    """The page-1 requests to make: undiscovered tasks become DISCOVERING."""
    log.info(f"discover: {scope.describe()}")
    # Page 1s that landed before a crash are adopted first: they are never requested again.
    await db.run(control.adopt_discovered, scope)
    claimed = await db.run(control.claim_discovery, scope, run_id)
    if claimed:
        log.info(f"discover: requesting page 1 of {len(claimed)} task(s) of {scope.describe()}")
    return claimed


async def settle(db: Database, scope: Scope, run_id: str, claimed: list[PageRequest]) -> None:
    """Every claimed task leaves DISCOVERING: totals from its landed page 1, FAILED, or PARTIAL."""
    await db.run(control.adopt_discovered, scope)
    await db.run(control.fail_fatal, run_id)
    await db.run(control.discovery_unfinished, run_id, [t.task_id for t in claimed])


async def _iterate(requests: list[PageRequest]) -> AsyncIterator[PageRequest]:
    for request in requests:
        yield request


async def discover(db: Database, scope: Scope, settings: ClientSettings, run_id: str, log: Logger,
                   limiter: AdaptiveRateLimiter | None = None) -> DiscoverResult:
    claimed = await claim(db, scope, run_id, log)
    if claimed:
        async with PncpClient(settings, limiter) as client, RawWriter(db) as writer:
            await download(client, scope, _iterate(claimed), writer, run_id)
        await settle(db, scope, run_id, claimed)
    return DiscoverResult(len(claimed))


def run(factory: ConnectionFactory, scope: Scope, settings: ClientSettings, run_id: str, log: Logger,
        limiter: AdaptiveRateLimiter | None = None) -> DiscoverResult:
    with factory() as conn:
        return asyncio.run(discover(Database(conn), scope, settings, run_id, log, limiter))
