"""Coverage per endpoint and month: tasks by status, pages expected/landed, records declared/landed/distinct.

The one source of these figures for `pncp-pipeline report` and for the typed tables' metadata in the
Dagster UI, so both always agree. Pure: a connection in, rows and text out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import duckdb
import orjson

from pncp_pipeline import control
from pncp_pipeline.control import STATUSES
from pncp_pipeline.endpoints import EARLIEST_MONTH, ENDPOINTS, get_endpoint
from pncp_pipeline.scope import Scope

COUNTS = ("pages_expected", "pages_landed", "records_declared", "records_landed", "records_distinct")
FIGURES = ("tasks", *(s.lower() for s in STATUSES), *COUNTS)
STATUS_FIGURES = ("tasks", "pages_expected", "pages_landed", "records_expected", "records_landed", "records_distinct")


def has_control_table(conn: duckdb.DuckDBPyConnection) -> bool:
    return conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'psa' "
                        "AND table_name = 'pncp_extraction_tasks'").fetchone()[0] > 0


def coverage(conn: duckdb.DuckDBPyConnection, month: date | None = None,
             endpoints: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per endpoint × month (ordered), optionally one month and/or some endpoints only.

    A pivot of control.summary (task_summary.sql): the same figures the engine logs and the endpoint
    assets attach as metadata, from one statement.
    """
    pivot: dict[tuple[str, date], dict[str, Any]] = {}
    for row in _summary(conn, month, endpoints):
        key = (row["endpoint_name"], row["data_date"])
        out = pivot.setdefault(key, {"endpoint": key[0], "month": key[1], **dict.fromkeys(FIGURES, 0)})
        out["tasks"] += row["tasks"]
        out[row["status"].lower()] += row["tasks"]
        out["records_declared"] += row["records_expected"]
        for name in ("pages_expected", "pages_landed", "records_landed", "records_distinct"):
            out[name] += row[name]
    return [pivot[k] for k in sorted(pivot)]


def by_endpoint_and_status(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """`pncp-pipeline status`: every month summed, one row per endpoint and status."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _summary(conn):
        key = (row["endpoint_name"], row["status"])
        agg = out.setdefault(key, {"endpoint": key[0], "status": key[1], **dict.fromkeys(STATUS_FIGURES, 0)})
        for name in STATUS_FIGURES:
            agg[name] += row[name]
    return [out[k] for k in sorted(out)]


def _summary(conn: duckdb.DuckDBPyConnection, month: date | None = None,
             endpoints: Sequence[str] | None = None) -> list[dict[str, Any]]:
    if not has_control_table(conn):
        return []
    names = list(endpoints) if endpoints else [e.name for e in ENDPOINTS]
    scope = Scope(tuple(get_endpoint(n) for n in names), month or EARLIEST_MONTH, month or date.max.replace(day=1))
    return control.summary(conn, scope)


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(int(r[name]) for r in rows) for name in FIGURES}


def status_text(row: dict[str, Any]) -> str:
    """'COMPLETE 19' or 'COMPLETE 18, PARTIAL 1': only the statuses present."""
    return ", ".join(f"{s} {row[s.lower()]}" for s in STATUSES if row[s.lower()])


def as_json(rows: Sequence[dict[str, Any]]) -> str:
    out = [{**r, "month": f"{r['month']:%Y-%m}"} for r in rows]
    return orjson.dumps(out, option=orjson.OPT_INDENT_2).decode()


def as_markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| endpoint | month | tasks | status | pages landed/expected | records declared | records landed "
             "| records distinct |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['endpoint']} | {r['month']:%Y-%m} | {r['tasks']} | {status_text(r)} "
              f"| {r['pages_landed']}/{r['pages_expected']} | {r['records_declared']} | {r['records_landed']} "
              f"| {r['records_distinct']} |" for r in rows]
    return "\n".join(lines)


def as_table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "no tasks yet: run `pncp-pipeline extract --start YYYY-MM` first"
    header = (f"{'endpoint':30} {'month':7} {'tasks':>5}  {'status':24} {'pages':>13}  "
              f"{'declared':>9} {'landed':>9} {'distinct':>9}")
    lines = [header, "-" * len(header)]
    for r in [*rows, {"endpoint": "total", "month": None, **totals(rows)}]:
        month = f"{r['month']:%Y-%m}" if r["month"] else ""
        pages = f"{r['pages_landed']}/{r['pages_expected']}"
        lines.append(f"{r['endpoint']:30} {month:7} {r['tasks']:>5}  {status_text(r):24} {pages:>13}  "
                     f"{r['records_declared']:>9} {r['records_landed']:>9} {r['records_distinct']:>9}")
    return "\n".join(lines)


FORMATS: dict[str, Callable[[Sequence[dict[str, Any]]], str]] = {
    "table": as_table, "json": as_json, "markdown": as_markdown,
}
