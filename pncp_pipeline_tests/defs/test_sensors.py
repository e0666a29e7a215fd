"""The retry sensor and the monthly schedule, evaluated with Dagster's test contexts on a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, DagsterInstance, RunRequest, SensorResult, SkipReason, build_schedule_context, build_sensor_context
from dagster_duckdb import DuckDBResource

from pncp_pipeline import control
from pncp_pipeline.defs.schedules import monthly_schedule
from pncp_pipeline.defs.sensors import retry_sensor
from pncp_pipeline.scope import Scope
from pncp_pipeline.storage import open_database


@pytest.fixture
def instance(tmp_path: Path):
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        yield instance


def seed_tasks(db: Path, rows: list[tuple[str, str, int, str]]) -> None:
    """(task_id, status, attempts, age) where age is an SQL interval since the last change."""
    with open_database(db) as conn:
        control.plan(conn, Scope.from_args("2025-05", "2025-07", ["contratos_publicacao", "atas_atualizacao"]), ())
        for task_id, status, attempts, age in rows:
            conn.execute(
                "UPDATE psa.pncp_extraction_tasks SET status = $s, attempts = $a, last_error = 'HTTP 503', "
                "updated_at = now() - CAST($age AS INTERVAL) WHERE task_id = $t",
                {"s": status, "a": attempts, "age": age, "t": task_id})
        conn.execute("UPDATE psa.pncp_extraction_tasks SET status = 'COMPLETE' WHERE status = 'PENDING'")


def evaluate(instance: DagsterInstance, db: Path) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, resources={"duckdb": DuckDBResource(database=str(db))})
    return retry_sensor(context)


def test_requests_exactly_the_due_partitions(instance, db_path: Path) -> None:
    seed_tasks(db_path, [
        ("contratos_publicacao_2025-05-01", "PARTIAL", 1, "1 day"),
        ("atas_atualizacao_2025-06-01", "FAILED", 2, "1 day"),
        ("atas_atualizacao_2025-07-01", "PARTIAL", 3, "1 minute"),   # backoff not over yet
        ("contratos_publicacao_2025-07-01", "PARTIAL", 5, "1 day"),  # attempt cap reached
    ])
    result = evaluate(instance, db_path)
    assert isinstance(result, SensorResult)
    requested = {(r.partition_key, tuple(r.asset_selection), r.run_key) for r in result.run_requests}
    assert requested == {
        ("2025-05-01", (AssetKey(["pncp", "contratos_publicacao"]), AssetKey(["pncp_tables", "contratos"])),
         "retry:contratos_publicacao:2025-05:attempt-2"),
        ("2025-06-01", (AssetKey(["pncp", "atas_atualizacao"]), AssetKey(["pncp_tables", "atas"])),
         "retry:atas_atualizacao:2025-06:attempt-3"),
    }


def test_run_key_is_stable_per_attempt_and_moves_with_the_attempt(instance, db_path: Path) -> None:
    seed_tasks(db_path, [("contratos_publicacao_2025-05-01", "PARTIAL", 1, "1 day")])
    first = evaluate(instance, db_path)
    second = evaluate(instance, db_path)
    assert [r.run_key for r in first.run_requests] == [r.run_key for r in second.run_requests]
    with open_database(db_path) as conn:
        conn.execute("UPDATE psa.pncp_extraction_tasks SET attempts = 2, updated_at = now() - INTERVAL 1 DAY "
                     "WHERE task_id = 'contratos_publicacao_2025-05-01'")
    third = evaluate(instance, db_path)
    assert [r.run_key for r in third.run_requests] == ["retry:contratos_publicacao:2025-05:attempt-3"]


def test_nothing_due_is_a_skip_with_a_reason(instance, db_path: Path) -> None:
    seed_tasks(db_path, [("contratos_publicacao_2025-07-01", "FAILED", 5, "1 day")])
    result = evaluate(instance, db_path)
    assert isinstance(result, SkipReason)
    assert "none due" in result.skip_message


def test_skips_while_another_process_writes(instance, db_path: Path) -> None:
    seed_tasks(db_path, [("contratos_publicacao_2025-05-01", "PARTIAL", 1, "1 day")])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
         str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = evaluate(instance, db_path)
    finally:
        holder.stdin.close()
        holder.wait(10)
    assert isinstance(result, SkipReason)
    assert f"process {holder.pid}" in result.skip_message
    assert isinstance(evaluate(instance, db_path), SensorResult)  # lock released: back to work


def test_no_database_yet_is_a_skip(instance, tmp_path: Path) -> None:
    result = evaluate(instance, tmp_path / "none.duckdb")
    assert isinstance(result, SkipReason) and "run an extraction first" in result.skip_message


@pytest.mark.parametrize("when, month", [
    (datetime(2026, 12, 2, 6, 0, tzinfo=ZoneInfo("America/Sao_Paulo")), "2026-11-01"),
    (datetime(2027, 1, 2, 6, 0, tzinfo=ZoneInfo("America/Sao_Paulo")), "2026-12-01"),
])
def test_schedule_requests_the_month_that_closed(instance, when: datetime, month: str) -> None:
    request = monthly_schedule(build_schedule_context(instance=instance, scheduled_execution_time=when))
    assert isinstance(request, RunRequest)
    assert request.partition_key == month


def test_schedule_and_sensor_are_on_by_default() -> None:
    from dagster import DefaultScheduleStatus, DefaultSensorStatus

    assert monthly_schedule.default_status == DefaultScheduleStatus.RUNNING
    assert monthly_schedule.cron_schedule == "0 6 2 * *"
    assert monthly_schedule.execution_timezone == "America/Sao_Paulo"
    assert retry_sensor.default_status == DefaultSensorStatus.RUNNING
