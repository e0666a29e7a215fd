"""Small helpers shared by the engine tests: fast client settings, a scoped run, table reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pncp_pipeline import engine
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import file_factory


def fast_settings(url: str, **overrides: Any) -> ClientSettings:
    """The replica answers in microseconds: no need for the real API's polite pacing in tests."""
    values: dict[str, Any] = dict(base_url=url, concurrency=8, rate_per_s=2000.0, timeout_s=5.0,
                                  connect_timeout_s=5.0, max_attempts=3, backoff_initial_s=0.001,
                                  backoff_max_s=0.01)
    return ClientSettings(**(values | overrides))


def run(db_path: Path, url: str, start: str, end: str | None = None, endpoints: list[str] | None = None,
        **overrides: Any) -> engine.ExtractionResult:
    scope = Scope.from_args(start, end, endpoints)
    return engine.extract(file_factory(db_path), scope, fast_settings(url, **overrides))


def query(db_path: Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def statuses(db_path: Path) -> dict[str, str]:
    return dict(query(db_path, "SELECT task_id, status FROM psa.pncp_extraction_tasks"))


def row_group_sizes(conn: duckdb.DuckDBPyConnection, table: str) -> list[int]:
    """Rows per row group of `table`, in storage order."""
    return [n for (n,) in conn.execute(
        "SELECT max(count) FROM pragma_storage_info(?) GROUP BY row_group_id ORDER BY row_group_id", [table]).fetchall()]
