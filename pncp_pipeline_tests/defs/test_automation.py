"""The asset checks after real materializations, and the retry loop end to end: a run left PARTIAL by
faults, the sensor's request for it, and that request run through `pncp_monthly` finishing the month.

(The sensor's and the schedule's own decisions on seeded control tables are in test_sensors.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from dagster import (
    AssetChecksDefinition,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
    materialize,
)

from pncp_pipeline.defs.checks import CHECKS, endpoint_checks
from pncp_pipeline.defs.jobs import pncp_job
from pncp_pipeline.defs.sensors import retry_sensor, tables_fed_by
from pncp_pipeline.defs.tables import parquet_export, table_assets
from pncp_pipeline.endpoints import enabled_endpoints
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.defs.conftest import ASSETS, asset_key, resources_for, tasks

MONTH = "2025-07-01"


def checks_for(name: str) -> AssetChecksDefinition:
    (found,) = [c for c in endpoint_checks if asset_key(name) in {k.asset_key for k in c.check_keys}]
    return found


def materialize_with_checks(name: str, replica: ReplicaServer, db_path: Path,
                            instance: DagsterInstance) -> ExecuteInProcessResult:
    return materialize([ASSETS[name], checks_for(name)], resources=resources_for(replica, db_path),
                       instance=instance, partition_key=MONTH)


def sensor_tick(db_path: Path, replica: ReplicaServer, instance: DagsterInstance) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, resources={"duckdb": resources_for(replica, db_path)["duckdb"]})
    return retry_sensor(context)


# -- asset checks ---------------------------------------------------------------------------------

def test_every_asset_has_the_three_checks_in_the_duckdb_pool() -> None:
    names = [e.name for e in enabled_endpoints()]
    assert len(endpoint_checks) == len(names)
    for name in names:
        checks = checks_for(name)
        assert {k.name for k in checks.check_keys} == set(CHECKS)
        assert checks.node_def.pool == "duckdb"


def test_checks_pass_after_a_complete_month(replica: ReplicaServer, db_path: Path, instance: DagsterInstance) -> None:
    result = materialize_with_checks("atas_atualizacao", replica, db_path, instance)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == set(CHECKS)
    for name, evaluation in evaluations.items():
        assert evaluation.passed, name
        assert evaluation.metadata["months_checked"].value == 1
        assert evaluation.metadata["offending_months"].value == {}


def test_the_completeness_check_fails_on_a_month_left_partial(
        replica_factory: Callable[..., ReplicaServer], db_path: Path, instance: DagsterInstance) -> None:
    faulty = replica_factory(fail_5xx=0.6)
    name = "contratacoes_publicacao"
    result = materialize_with_checks(name, faulty, db_path, instance)
    unfinished = [t for t in tasks(db_path, name) if t["status"] != "COMPLETE"]
    assert unfinished
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["all_tasks_complete"].passed
    assert evaluations["all_tasks_complete"].metadata["offending_months"].value == {"2025-07": len(unfinished)}
    assert evaluations["records_match_totals"].passed
    assert evaluations["no_duplicate_data_pages"].passed


# -- retry sensor ---------------------------------------------------------------------------------

def test_the_sensor_relaunches_a_partial_month_and_that_run_finishes_it(
        replica_factory: Callable[..., ReplicaServer], db_path: Path, instance: DagsterInstance,
        monkeypatch: pytest.MonkeyPatch) -> None:
    faulty = replica_factory(fail_5xx=0.6)
    name = "contratacoes_publicacao"
    materialize([ASSETS[name]], resources=resources_for(faulty, db_path), instance=instance, partition_key=MONTH)
    assert any(t["status"] == "PARTIAL" for t in tasks(db_path, name))

    # Under the default backoff the month is not due yet right after the run.
    monkeypatch.delenv("PNCP_RETRY_BACKOFF_S", raising=False)
    assert isinstance(sensor_tick(db_path, faulty, instance), SkipReason)

    monkeypatch.setenv("PNCP_RETRY_BACKOFF_S", "0")
    result = sensor_tick(db_path, faulty, instance)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests
    assert isinstance(request, RunRequest)
    assert request.partition_key == MONTH
    assert request.asset_selection == [asset_key(name), *tables_fed_by(name)]
    assert tables_fed_by(name), "the typed table this endpoint feeds is rebuilt by the retry too"
    assert request.run_key and name in request.run_key and "2025-07" in request.run_key

    # Launch what the sensor asked for, through the job it targets, with the API healthy again.
    httpx.post(f"{faulty.url}/_replica/faults", json={"fail_5xx": 0.0}, timeout=10).raise_for_status()
    defs = Definitions(assets=[*ASSETS.values(), *table_assets, parquet_export], asset_checks=endpoint_checks, jobs=[pncp_job],
                       resources=resources_for(faulty, db_path))
    job = defs.resolve_job_def(pncp_job.name)
    run = job.execute_in_process(instance=instance, partition_key=request.partition_key,
                                 asset_selection=request.asset_selection, tags=request.tags)
    assert run.success
    assert {e.asset_key for e in run.get_asset_materialization_events()} == {asset_key(name), *tables_fed_by(name)}
    assert all(t["status"] == "COMPLETE" for t in tasks(db_path, name))

    after = sensor_tick(db_path, faulty, instance)
    assert isinstance(after, SkipReason)
