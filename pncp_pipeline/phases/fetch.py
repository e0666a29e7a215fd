"""fetch: download every missing page of every FETCHING/PARTIAL task in scope, behind one shared limit."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from pncp_pipeline import control
from pncp_pipeline.client import PncpClient
from pncp_pipeline.control import PageRequest
from pncp_pipeline.limiter import AdaptiveRateLimiter
from pncp_pipeline.phases.download import Logger, download
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory
from pncp_pipeline.writer import Database, RawWriter

CHUNK = 5000
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class FetchResult:
    requested: int
    landed: int


class Progress:
    """Per endpoint-month page counts, logged as they land ("contratos_publicacao 2024-03: 120/400 pages")."""

    def __init__(self, log: Logger, rows: list[dict[str, Any]]) -> None:
        self.log = log
        self.expected: Counter[tuple[str, date]] = Counter()
        self.landed: Counter[tuple[str, date]] = Counter()
        for row in rows:
            key = (row["endpoint_name"], row["data_date"])
            self.expected[key] += row["pages_expected"]
            self.landed[key] += row["pages_landed"]
        self._last = time.monotonic()
        self._dirty: set[tuple[str, date]] = set()

    def committed(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["response_class"] in ("data", "empty"):
                key = (row["endpoint_name"], row["data_date"])
                self.landed[key] += 1
                self._dirty.add(key)
        if time.monotonic() - self._last >= PROGRESS_EVERY_S:
            self.report()

    def report(self) -> None:
        for key in sorted(self._dirty):
            name, month = key
            self.log.info(f"{name} {month:%Y-%m}: {self.landed[key]}/{self.expected[key]} pages")
        self._dirty.clear()
        self._last = time.monotonic()


async def _pages(db: Database, scope: Scope) -> AsyncIterator[PageRequest]:
    after = ("", 0)
    while True:
        chunk = await db.run(control.missing_pages, scope, after, CHUNK)
        for request in chunk:
            yield request
        if len(chunk) < CHUNK:
            return
        after = (chunk[-1].task_id, chunk[-1].page)


async def fetch(db: Database, scope: Scope, settings: ClientSettings, run_id: str, log: Logger,
                limiter: AdaptiveRateLimiter | None = None) -> FetchResult:
    await db.run(control.count_fetch_attempt, scope, run_id)
    progress = Progress(log, await db.run(control.summary, scope))
    counts = Counter[str]()

    def seen(request: PageRequest, outcome: Any) -> None:
        counts["requested"] += 1
        counts["landed"] += outcome.landed

    async with PncpClient(settings, limiter) as client, RawWriter(db, on_commit=progress.committed) as writer:
        await download(client, scope, _pages(db, scope), writer, run_id, on_outcome=seen)
    progress.report()
    if counts["requested"]:
        log.info(f"fetch: {counts['landed']} of {counts['requested']} missing page(s) landed")
    return FetchResult(counts["requested"], counts["landed"])


def run(factory: ConnectionFactory, scope: Scope, settings: ClientSettings, run_id: str, log: Logger,
        limiter: AdaptiveRateLimiter | None = None) -> FetchResult:
    log.info(f"fetch: {scope.describe()}")
    with factory() as conn:
        return asyncio.run(fetch(Database(conn), scope, settings, run_id, log, limiter))
