"""What the retry sensor should ask for: pure logic over the control table, no Dagster here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from pncp_pipeline.control import MAX_TASK_ATTEMPTS
from pncp_pipeline.storage import sql

DEFAULT_BACKOFF_S = 600.0
BACKOFF_CAP_S = 6 * 3600.0


@dataclass(frozen=True)
class RetryCandidate:
    endpoint_name: str
    month: date
    attempts: int
    failed: int
    partial: int
    exhausted: bool
    due: bool
    last_error: str | None

    @property
    def run_key(self) -> str:
        """One key per attempt: the sensor never launches the same attempt twice."""
        return f"retry:{self.endpoint_name}:{self.month:%Y-%m}:attempt-{self.attempts + 1}"


def candidates(conn: duckdb.DuckDBPyConnection, base_s: float = DEFAULT_BACKOFF_S,
               cap_s: float = BACKOFF_CAP_S, max_attempts: int = MAX_TASK_ATTEMPTS) -> list[RetryCandidate]:
    rows = conn.execute(sql("retry_candidates"), {"base_s": base_s, "cap_s": cap_s, "max_attempts": max_attempts})
    return [RetryCandidate(*row) for row in rows.fetchall()]
