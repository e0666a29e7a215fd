"""The single writer: the only code that inserts raw rows, and the only user of the connection
while a phase runs.

Fetchers hand outcomes to a bounded queue (so memory stays flat however many pages a run has);
one task drains it and commits batches, each batch one INSERT in a worker thread so the event loop
never blocks on DuckDB. A batch is one transaction: a kill -9 loses at most the uncommitted batch,
whose pages are simply missing and fetched again by the next run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import duckdb
import orjson

from pncp_pipeline.client import Outcome
from pncp_pipeline import storage
from pncp_pipeline.storage import ROW_GROUP_SIZE, USE_ERRORS, sql, translate

T = TypeVar("T")

#: Marker for "the oldest queued row is old enough: commit now".
_AGED: dict[str, Any] = {}

COLUMNS = ("task_id", "endpoint_name", "data_date", "modalidade", "page", "request_url", "request_params",
           "status_code", "response_class", "body", "headers", "total_records", "total_pages",
           "page_records", "record_keys", "error", "attempt", "run_id", "elapsed_ms", "fetched_at")


class Database:
    """Serializes every use of the phase's one connection and runs it off the event loop."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        (self.path,) = conn.execute(
            "SELECT coalesce(path, 'the database') FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        self._lock = asyncio.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            try:
                return await asyncio.to_thread(fn, self.conn, *args)
            except USE_ERRORS as e:
                raise translate(e, self.path) from None


def insert_rows(conn: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], checkpoint: bool = False) -> None:
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    conn.execute(sql("insert_raw"), columns)
    if checkpoint:
        storage.checkpoint(conn)


def _checkpoint_only_by_the_writer(conn: duckdb.DuckDBPyConnection) -> None:
    """For the rest of the phase's connection: DuckDB checkpoints by size only as a last resort."""
    conn.execute("SET checkpoint_threshold = ?", [storage.WRITER_CHECKPOINT_THRESHOLD])


def raw_row(outcome: Outcome, task_id: str, endpoint_name: str, data_date: date, modalidade: int | None,
            page: int, run_id: str) -> dict[str, Any]:
    return {
        "task_id": task_id, "endpoint_name": endpoint_name, "data_date": data_date, "modalidade": modalidade,
        "page": page, "request_url": outcome.url, "request_params": orjson.dumps(outcome.params).decode(),
        "status_code": outcome.status_code, "response_class": outcome.response_class.value,
        "body": outcome.body, "headers": orjson.dumps(outcome.headers).decode(),
        "total_records": outcome.total_records, "total_pages": outcome.total_pages,
        "page_records": outcome.page_records, "record_keys": outcome.record_keys, "error": outcome.error,
        "attempt": outcome.attempt, "run_id": run_id, "elapsed_ms": outcome.elapsed_ms,
        "fetched_at": outcome.fetched_at,
    }


class RawWriter:
    """Batches rows by count, bytes and age, and checkpoints after every ROW_GROUP_SIZE rows.

    Rows not yet checkpointed stay in memory, and a checkpoint part-way through a row group made
    the next ones rewrite it at a multiple of its size (155 KB pages over two phases' reopens: 1.5 GB
    peak with DuckDB's byte threshold of 256 MB, 0.58 GB checkpointing every 2,048 rows). So batches
    stop at the boundary, and the writer raises DuckDB's own size threshold out of its way.
    """

    def __init__(self, db: Database, *, max_rows: int = 256, max_bytes: int = 16 * 2**20,
                 max_age_s: float = 0.5, queue_size: int = 64,
                 on_commit: Callable[[list[dict[str, Any]]], None] | None = None,
                 after_insert: Callable[[duckdb.DuckDBPyConnection, list[dict[str, Any]]], None] | None = None,
                 ) -> None:
        self.db = db
        self.max_rows, self.max_bytes, self.max_age_s = max_rows, max_bytes, max_age_s
        self.on_commit = on_commit
        #: Runs on the connection right after each batch's insert, in the same turn of it: for
        #: control-table state derived from raw rows, kept current while they land.
        self.after_insert = after_insert
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.rows_written = 0
        self._unchecked = 0  # rows committed since this writer's last checkpoint
        self._closed = False  # the end marker was read

    async def __aenter__(self) -> "RawWriter":
        await self.db.run(_checkpoint_only_by_the_writer)
        self._task = asyncio.create_task(self._drain(), name="raw-writer")
        return self

    async def __aexit__(self, exc_type: Any, *exc: Any) -> None:
        await self._queue.put(None)
        assert self._task is not None
        if exc_type is None:
            await self._task
        else:
            # Still commit what was queued: those pages were downloaded and must not be lost.
            await asyncio.shield(self._task)

    async def put(self, row: dict[str, Any]) -> None:
        if self.error is not None:
            raise self.error
        await self._queue.put(row)

    async def _drain(self) -> None:
        try:
            await self._commit_batches()
        except BaseException as e:
            # Keep emptying the queue so no producer blocks forever, then fail every one of them;
            # unless the end marker has already been read (the last batch failed): then nothing
            # more is coming, and waiting for it would hang the run.
            self.error = e
            while not self._closed:
                self._closed = await self._queue.get() is None
            raise

    def _insert(self, conn: duckdb.DuckDBPyConnection, batch: list[dict[str, Any]], checkpoint: bool) -> None:
        insert_rows(conn, batch, checkpoint)
        if self.after_insert:
            self.after_insert(conn, batch)

    async def _commit_batches(self) -> None:
        batch: list[dict[str, Any]] = []
        size, first_at = 0, 0.0
        # One get() is kept pending across age timeouts: cancelling it (as wait_for does) can drop
        # a row that arrived at the same instant, and a dropped row is a page silently lost.
        getter: asyncio.Future[dict[str, Any] | None] | None = None
        try:
            while not self._closed:
                timeout = None if not batch else max(0.0, first_at + self.max_age_s - time.monotonic())
                getter = getter or asyncio.ensure_future(self._queue.get())
                done, _ = await asyncio.wait({getter}, timeout=timeout)
                if getter in done:
                    row, getter = getter.result(), None
                else:
                    row = _AGED
                if row is None:
                    self._closed = True
                elif row is not _AGED:
                    if not batch:
                        first_at = time.monotonic()
                    batch.append(row)
                    size += len(row["body"] or b"")
                room = min(self.max_rows, ROW_GROUP_SIZE - self._unchecked)
                full = len(batch) >= room or size >= self.max_bytes
                if batch and (self._closed or row is _AGED or full):
                    checkpoint = self._unchecked + len(batch) >= ROW_GROUP_SIZE
                    await self.db.run(self._insert, batch, checkpoint)
                    self._unchecked = 0 if checkpoint else self._unchecked + len(batch)
                    self.rows_written += len(batch)
                    if self.on_commit:
                        self.on_commit(batch)
                    batch, size = [], 0
        finally:
            # A failed commit leaves the pending get() behind: cancelled it takes nothing from the
            # queue; finished, it may hold the end marker, which _drain must know was read.
            if getter is not None and getter.done() and not getter.cancelled():
                self._closed = self._closed or getter.result() is None
            elif getter is not None:
                getter.cancel()
