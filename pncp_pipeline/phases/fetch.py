"""fetch: download every missing page of every FETCHING/PARTIAL task in scope, behind one shared limit.

With `discover` (the engine's way), the tasks still to discover are downloaded in the same stream:
their page 1s first, then, as each page 1 is answered, the rest of that task's pages. No request
slot then idles while the last page 1s of a discovery are on the wire, and the run opens one
client and one writer instead of two. Dagster keeps discover and fetch as separate ops, each one
step in the UI.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import duckdb

from pncp_pipeline import control
from pncp_pipeline.client import Outcome, PncpClient, ResponseClass
from pncp_pipeline.control import PageRequest
from pncp_pipeline.limiter import AdaptiveRateLimiter
from pncp_pipeline.phases import discover as discovery
from pncp_pipeline.phases.download import Logger, download
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory
from pncp_pipeline.writer import Database, RawWriter

CHUNK = 5000
PROGRESS_EVERY_S = 5.0
#: response classes of a raw row that count as landed
LANDED = frozenset({ResponseClass.DATA.value, ResponseClass.EMPTY.value})


@dataclass(frozen=True)
class FetchResult:
    requested: int  # pages requested, page 1s of tasks discovered here not included
    landed: int
    discovered: int = 0  # tasks whose page 1 was requested here (with `discover`)


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

    def expect(self, request: PageRequest, pages: int) -> None:
        """A page 1 announced `pages` pages (its task was counted as one page until then)."""
        self.expected[(request.endpoint_name, request.data_date)] += max(pages, 1) - 1

    def committed(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row["response_class"] in LANDED:
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


class Discovered:
    """The pages after page 1 of tasks discovered during the stream, handed out as page 1s are answered.

    One page range per task, so memory grows with tasks, not pages. Iteration ends when every page 1
    has had its final answer and every range has been handed out.
    """

    def __init__(self, page_ones: list[PageRequest]) -> None:
        #: immutable: the writer's thread reads it too (adopt_landed)
        self.claimed = frozenset(request.task_id for request in page_ones)
        self._unanswered = set(self.claimed)
        self._ranges: deque[tuple[PageRequest, int]] = deque()  # (next page's request, last page)
        self._answered = asyncio.Event()

    def is_page_one(self, request: PageRequest) -> bool:
        return request.page == 1 and request.task_id in self._unanswered

    def answered(self, request: PageRequest, outcome: Outcome) -> int:
        """Record page 1's final answer; returns the pages it announced (0 if it did not land)."""
        self._unanswered.discard(request.task_id)
        pages = (outcome.total_pages or 0) if outcome.response_class is ResponseClass.DATA else 0
        if pages > 1:
            # the size page 1 was asked with: page numbers only mean something at it
            size = outcome.params.get("tamanhoPagina")
            self._ranges.append((replace(request, page=2, page_size=int(size) if size else None), pages))
        self._answered.set()
        return pages

    def adopt_landed(self, scope: Scope) -> Callable[[duckdb.DuckDBPyConnection, list[dict[str, Any]]], None]:
        """For the writer: once a batch lands a claimed task's page 1, the control table takes its
        totals (FETCHING) then, as after a discover phase, not when the stream ends; a run that dies
        mid-stream leaves tasks whose progress `status` can show."""
        def adopt(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
            if any(row["page"] == 1 and row["task_id"] in self.claimed and row["response_class"] in LANDED
                   for row in rows):
                control.adopt_discovered(conn, scope)
        return adopt

    async def __aiter__(self) -> AsyncIterator[PageRequest]:
        while True:
            if self._ranges:
                request, last = self._ranges[0]
                if request.page == last:
                    self._ranges.popleft()
                else:
                    self._ranges[0] = (replace(request, page=request.page + 1), last)
                yield request
            elif not self._unanswered:
                return
            else:
                self._answered.clear()
                await self._answered.wait()


async def _stream(page_ones: list[PageRequest], missing: AsyncIterator[PageRequest],
                  discovered: Discovered) -> AsyncIterator[PageRequest]:
    for request in page_ones:
        yield request
    async for request in missing:
        # a task claimed here becomes FETCHING as its page 1 lands (adopt_landed), and its later
        # pages come from `discovered`: listed here as well, they would be asked twice
        if request.task_id not in discovered.claimed:
            yield request
    async for request in discovered:
        yield request


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
                limiter: AdaptiveRateLimiter | None = None, *, discover: bool = False) -> FetchResult:
    page_ones = await discovery.claim(db, scope, run_id, log) if discover else []
    log.info(f"fetch: {scope.describe()}")
    await db.run(control.count_fetch_attempt, scope, run_id)
    progress = Progress(log, await db.run(control.summary, scope))
    discovered = Discovered(page_ones)
    counts = Counter[str]()

    def seen(request: PageRequest, outcome: Outcome) -> None:
        if discovered.is_page_one(request):
            progress.expect(request, discovered.answered(request, outcome))
            return
        counts["requested"] += 1
        counts["landed"] += outcome.landed

    async with PncpClient(settings, limiter) as client, \
            RawWriter(db, on_commit=progress.committed, after_insert=discovered.adopt_landed(scope)) as writer:
        await download(client, scope, _stream(page_ones, _pages(db, scope), discovered), writer, run_id,
                       on_outcome=seen)
    if page_ones:
        await discovery.settle(db, scope, run_id, page_ones)
    progress.report()
    if counts["requested"]:
        log.info(f"fetch: {counts['landed']} of {counts['requested']} missing page(s) landed")
    return FetchResult(counts["requested"], counts["landed"], len(page_ones))


def run(factory: ConnectionFactory, scope: Scope, settings: ClientSettings, run_id: str, log: Logger,
        limiter: AdaptiveRateLimiter | None = None, *, discover: bool = False) -> FetchResult:
    with factory() as conn:
        return asyncio.run(fetch(Database(conn), scope, settings, run_id, log, limiter, discover=discover))
