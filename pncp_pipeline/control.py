"""Every state change of the control table, one function per named statement in `sql/`.

Task statuses: PENDING -> DISCOVERING -> FETCHING -> PARTIAL | COMPLETE, or FAILED when page 1 is
refused as a wrong request. Every transition is derived from what the raw table holds, so the
control table can always be recomputed after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from pncp_pipeline.scope import Scope
from pncp_pipeline.storage import sql

STATUSES = ("PENDING", "DISCOVERING", "FETCHING", "PARTIAL", "COMPLETE", "FAILED")

#: Runs that may work on one task before it is only reported: a FAILED task (page 1 refused as a
#: wrong request) is tried again this many times in all, in case the refusal was an overload's.
MAX_TASK_ATTEMPTS = 5
#: Landed records whose keys one statement counts at once (reconcile's distinct count): the memory
#: bound of a reconcile, whatever the size of its scope.
DISTINCT_CHUNK_RECORDS = 1_000_000


@dataclass(frozen=True)
class PageRequest:
    task_id: str
    endpoint_name: str
    data_date: date
    modalidade: int | None
    page: int
    page_size: int | None = None  # None on page 1: the endpoint's configured size decides


def plan(conn: duckdb.DuckDBPyConnection, scope: Scope, modalities: tuple[int, ...]) -> int:
    """Insert the scope's tasks (one statement); returns how many were new."""
    before = _count(conn)
    conn.execute(sql("plan_tasks"), {
        "names": [e.name for e in scope.endpoints],
        "per_modality": [e.per_modality for e in scope.endpoints],
        "first_months": [e.first_month for e in scope.endpoints],
        "start": scope.start, "end": scope.end, "modalities": list(modalities),
    })
    return _count(conn) - before


def is_fully_planned(conn: duckdb.DuckDBPyConnection, scope: Scope) -> bool:
    """True when every endpoint × month of the scope already has its tasks."""
    expected = sum(1 for e in scope.endpoints for m in scope.months if m >= e.first_month)
    (planned,) = conn.execute(sql("planned_months"), scope.params()).fetchone()
    return planned >= expected


def adopt_discovered(conn: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    conn.execute(sql("adopt_discovered"), scope.params())


def claim_discovery(conn: duckdb.DuckDBPyConnection, scope: Scope, run_id: str) -> list[PageRequest]:
    rows = conn.execute(sql("claim_discovery"),
                        scope.params() | {"max_attempts": MAX_TASK_ATTEMPTS, "run_id": run_id}).fetchall()
    return [PageRequest(task_id, name, day, mod, 1) for task_id, name, day, mod in sorted(rows)]


def fail_fatal(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    conn.execute(sql("fail_fatal"), {"run_id": run_id})


def discovery_unfinished(conn: duckdb.DuckDBPyConnection, run_id: str, task_ids: list[str]) -> None:
    conn.execute(sql("discovery_unfinished"), {"run_id": run_id, "task_ids": task_ids})


def count_fetch_attempt(conn: duckdb.DuckDBPyConnection, scope: Scope, run_id: str) -> None:
    conn.execute(sql("count_fetch_attempt"), scope.params() | {"run_id": run_id})


def missing_pages(conn: duckdb.DuckDBPyConnection, scope: Scope, after: tuple[str, int],
                  limit: int) -> list[PageRequest]:
    rows = conn.execute(sql("missing_pages"), scope.params() | {
        "after_task": after[0], "after_page": after[1], "limit": limit,
    }).fetchall()
    return [PageRequest(*row) for row in rows]


def reconcile(conn: duckdb.DuckDBPyConnection, scope: Scope) -> int:
    """Detect drift, recompute missing pages and status, count distinct records; returns drifted tasks."""
    since = conn.execute("SELECT now()").fetchone()[0]
    fill_record_keys(conn, scope)
    drifted = conn.execute(sql("detect_drift"), scope.params()).fetchone()[0]
    conn.execute(sql("reconcile"), scope.params())
    count_distinct_records(conn, scope, since)
    return drifted


def count_distinct_records(conn: duckdb.DuckDBPyConnection, scope: Scope, since: datetime) -> None:
    """Chunk by chunk of DISTINCT_CHUNK_RECORDS: one statement over a whole backfill's keys would
    hold them all in one hash table (about 60 bytes a record)."""
    conn.execute(sql("distinct_records_tasks"), scope.params() | {"since": since,
                                                                  "chunk_records": DISTINCT_CHUNK_RECORDS})
    for (chunk,) in conn.execute("SELECT DISTINCT chunk FROM pncp_distinct_tasks ORDER BY chunk").fetchall():
        conn.execute(sql("distinct_records"), {"chunk": chunk})


def fill_record_keys(conn: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """Keys for raw rows written before pages carried them: one scan finds the endpoints that have
    such rows (none, once filled), and only those get the per-endpoint fill."""
    unkeyed = {name for (name,) in conn.execute(sql("unkeyed_endpoints"), scope.params()).fetchall()}
    for endpoint in (e for e in scope.endpoints if e.name in unkeyed):
        conn.execute(sql("fill_record_keys"),
                     {"endpoint": endpoint.name, "start": scope.start, "end": scope.end} | endpoint.key_params())


def summary(conn: duckdb.DuckDBPyConnection, scope: Scope) -> list[dict[str, Any]]:
    cursor = conn.execute(sql("task_summary"), scope.params())
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def status_counts(conn: duckdb.DuckDBPyConnection, scope: Scope) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in summary(conn, scope):
        counts[row["status"]] += row["tasks"]
    return counts


def _count(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("SELECT count(*) FROM psa.pncp_extraction_tasks").fetchone()[0]
