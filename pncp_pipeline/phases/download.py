"""Download a stream of page requests concurrently, every attempt going through the one writer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from pncp_pipeline.client import Outcome, PncpClient
from pncp_pipeline.control import PageRequest
from pncp_pipeline.scope import Scope
from pncp_pipeline.writer import RawWriter, raw_row

WORKERS_PER_SLOT = 2

Logger = logging.Logger | logging.LoggerAdapter[Any] | Any


async def download(client: PncpClient, scope: Scope, requests: AsyncIterator[PageRequest], writer: RawWriter,
                   run_id: str, on_outcome: Callable[[PageRequest, Outcome], None] | None = None) -> None:
    """Workers pull from a small queue, so pending requests never pile up in memory.

    Twice as many workers as the client lets requests through: while some parse and hand pages to
    the writer, others already wait on the server, and every request slot stays busy.
    """
    workers = client.settings.concurrency * WORKERS_PER_SLOT
    queue: asyncio.Queue[PageRequest | None] = asyncio.Queue(maxsize=workers)

    async def produce() -> None:
        # No `finally`: when a worker fails, the group cancels this task, and a put() of the end
        # markers into a full queue nobody drains any more would hang the run forever.
        async for request in requests:
            await queue.put(request)
        for _ in range(workers):
            await queue.put(None)

    async def work() -> None:
        while (request := await queue.get()) is not None:
            endpoint = scope.endpoint(request.endpoint_name)

            async def sink(outcome: Outcome, request: PageRequest = request) -> None:
                await writer.put(raw_row(outcome, request.task_id, request.endpoint_name, request.data_date,
                                         request.modalidade, request.page, run_id))

            outcome = await client.fetch_page(endpoint, request.data_date, request.modalidade, request.page, sink,
                                              page_size=request.page_size)
            if on_outcome:
                on_outcome(request, outcome)

    error: Exception | None = None
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(workers):
                group.create_task(work())
    except ExceptionGroup as failed:
        if len(failed.exceptions) > 1:
            raise  # several failures at once: keep every one of them
        error = failed.exceptions[0]
    if error is not None:
        # One failure cancelled the other tasks: callers and the CLI see that error itself (a full
        # disk, a lost file), with its own cause, not a group wrapped around it.
        raise error
