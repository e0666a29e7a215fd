"""The retry sensor: re-runs the endpoint-months that hold FAILED or PARTIAL tasks, from the control table.

It opens DuckDB read-only and never waits: when a run holds the file the tick is skipped, since that
run is already doing the work a retry would ask for. Never through DuckDBResource, which retries
for minutes and would hit the sensor's timeout.
"""

import os

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster_duckdb import DuckDBResource

from pncp_pipeline import retry
from pncp_pipeline.defs.jobs import pncp_job
from pncp_pipeline.defs.tables import table_key
from pncp_pipeline.tables import TABLES
from pncp_pipeline.errors import StorageError
from pncp_pipeline.storage import open_database


def tables_fed_by(endpoint_name: str) -> list[AssetKey]:
    """A retried endpoint-month also rebuilds the typed tables it feeds, for that month."""
    return [table_key(t) for t in TABLES if endpoint_name in t.endpoints]


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def backoff_s() -> float:
    """Base wait before the first retry of a task (doubles with each attempt); PNCP_RETRY_BACKOFF_S."""
    return _env_seconds("PNCP_RETRY_BACKOFF_S", retry.DEFAULT_BACKOFF_S)


@sensor(job=pncp_job, minimum_interval_seconds=int(_env_seconds("PNCP_RETRY_SENSOR_INTERVAL_S", 60)),
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-run months with FAILED/PARTIAL tasks, with backoff and a cap on attempts per task.")
def retry_sensor(context: SensorEvaluationContext, duckdb: DuckDBResource) -> SensorResult | SkipReason:
    try:
        with open_database(duckdb.database, read_only=True) as conn:
            found = retry.candidates(conn, base_s=backoff_s())
    except StorageError as e:
        return SkipReason(f"control table not readable now ({e}); a run writing to it is already working")
    due = [c for c in found if c.due]
    for c in found:
        if c.exhausted:
            context.log.warning(
                f"{c.endpoint_name} {c.month:%Y-%m}: {c.failed} FAILED / {c.partial} PARTIAL task(s) after "
                f"{c.attempts} attempts, not retried again: {c.last_error}")
    if not due:
        return SkipReason(f"{len(found)} endpoint-month(s) with FAILED/PARTIAL tasks, none due for a retry")
    return SensorResult(run_requests=[
        RunRequest(run_key=c.run_key, partition_key=c.month.isoformat(),
                   asset_selection=[AssetKey(["pncp", c.endpoint_name]), *tables_fed_by(c.endpoint_name)],
                   tags={"pncp/retry_attempt": str(c.attempts + 1)})
        for c in due
    ])
