"""Parquet export of the typed tables: DuckDB's own `COPY ... (FORMAT parquet, PARTITION_BY (month))`.

Layout: `<out>/<table>/month=YYYY-MM/data_N.parquet` (hive partitioning on the rows' `source_month`),
readable by DuckDB, Polars, Spark, pandas/pyarrow. An export writes into a hidden staging folder next to
the table's folder first, then swaps in the month folders it covers: months inside the requested range
(every month when no range is given) are replaced, months outside it are left alone, and a covered
month that has no rows any more loses its old folder. Nothing but `month=...` folders is ever removed.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pncp_pipeline.errors import PipelineError, UsageError
from pncp_pipeline.tables import TABLES, Table, existing_tables, render

FORMATS = ("parquet",)

_MONTH_DIR = re.compile(r"^month=(\d{4})-(\d{2})$")


@dataclass
class ExportResult:
    table: str
    path: Path
    rows: int = 0
    months: list[str] = field(default_factory=list)  # YYYY-MM folders written


def _month_of(folder: Path) -> date | None:
    match = _MONTH_DIR.match(folder.name)
    return date(int(match[1]), int(match[2]), 1) if match and folder.is_dir() else None


def _covered(month: date, start: date | None, end: date | None) -> bool:
    return (start is None or month >= start) and (end is None or month <= end)


def export(conn: duckdb.DuckDBPyConnection, out_dir: str | Path, tables: Sequence[Table] | None = None,
           start: date | None = None, end: date | None = None) -> list[ExportResult]:
    """Write the tables (default: all) for months start..end (default: all) under out_dir."""
    if start and end and start > end:
        raise UsageError(f"start month {start:%Y-%m} is after end month {end:%Y-%m}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"the export folder {out} exists and is not a directory")
    present = existing_tables(conn)
    results = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for table in TABLES if tables is None else tables:
            result = ExportResult(table.name, out / table.name)
            if table.name in present:
                _export_table(conn, table, result, start, end)
            results.append(result)
    except (OSError, duckdb.IOException) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
        raise PipelineError(f"cannot write the export to {out}: {reason}") from None
    return results


def _export_table(conn: duckdb.DuckDBPyConnection, table: Table, result: ExportResult,
                  start: date | None, end: date | None) -> None:
    target = result.path
    staging = target.parent / f".{table.name}.staging-{uuid.uuid4().hex[:12]}"
    try:
        (result.rows,) = conn.execute(render("export_table", table=table.qualified),
                                      {"start": start, "end": end, "path": str(staging)}).fetchone()
        staged = sorted(p for p in staging.iterdir() if _month_of(p)) if staging.exists() else []
        target.mkdir(parents=True, exist_ok=True)
        for old in target.iterdir():
            month = _month_of(old)
            if month and _covered(month, start, end):
                shutil.rmtree(old)
        for folder in staged:
            folder.rename(target / folder.name)
            result.months.append(folder.name.removeprefix("month="))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
