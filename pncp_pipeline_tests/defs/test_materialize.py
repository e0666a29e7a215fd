"""Materializing endpoint assets in-process against the replica: one month, a range in one run,
reruns, empty months, a run that meets faults, and a run under the shipped instance settings."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagster import DagsterInstance, ExecuteInProcessResult, MarkdownMetadataValue

from pncp_pipeline.endpoints import MODALITIES_PATH, EmptySignal, get_endpoint
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline.scope import add_months
from pncp_pipeline.settings import CONSULTA_PREFIX
from pncp_pipeline_tests.defs.conftest import RANGE_END_TAG, RANGE_START_TAG, asset_key, query, tasks

DAGSTER_HOME = Path(__file__).resolve().parents[2] / "dagster_home"
Run = Callable[..., ExecuteInProcessResult]


def metadata_by_partition(result: ExecuteInProcessResult, name: str) -> dict[str, dict[str, Any]]:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == asset_key(name)]
    return {e.partition: {k: v.value for k, v in e.materialization.metadata.items()} for e in events}


def month_rows(markdown: str) -> list[list[str]]:
    """The body rows of the `months` Markdown table, as lists of cell texts."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    assert lines[1].replace("|", "").strip("- ") == "", "second line must be the header separator"
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def assert_all_complete(rows: list[dict[str, Any]]) -> None:
    assert rows
    for row in rows:
        assert row["status"] == "COMPLETE", row
        assert row["records_landed"] == row["total_records"], row
        assert json.loads(row["missing_pages"]) == [], row


# -- one partition ---------------------------------------------------------------------------------

def test_one_partition_materializes_and_lands_every_record(run_asset: Run, db_path: Path) -> None:
    result = run_asset("contratos_publicacao", "2025-07-01")
    assert result.success

    rows = tasks(db_path, "contratos_publicacao")
    assert [r["data_date"] for r in rows] == [date(2025, 7, 1)]  # one task, for that month only
    assert_all_complete(rows)
    (task,) = rows
    assert task["total_records"] > 500  # more than one 500-record page, so fetch had work to do
    assert task["total_pages"] >= 2
    landed = query(db_path, "SELECT count(DISTINCT page) AS pages, sum(page_records) AS records "
                            "FROM psa.pncp_raw_responses WHERE task_id = ? AND response_class = 'data'",
                   task["task_id"])
    assert landed == [{"pages": task["total_pages"], "records": task["total_records"]}]

    by_partition = metadata_by_partition(result, "contratos_publicacao")
    assert list(by_partition) == ["2025-07-01"]
    meta = by_partition["2025-07-01"]
    assert meta["tasks_complete"] == 1
    assert meta["tasks_partial"] == meta["tasks_failed"] == meta["tasks_pending"] == 0
    assert meta["pages_landed"] == meta["pages_expected"] == task["total_pages"]
    assert meta["pages_missing"] == 0
    assert meta["records_landed"] == meta["records_expected"] == task["total_records"]

    event = result.get_asset_materialization_events()[0]
    assert isinstance(event.materialization.metadata["months"], MarkdownMetadataValue)
    assert month_rows(meta["months"]) == [[
        "2025-07", "COMPLETE", "1", f"{task['total_pages']}/{task['total_pages']}",
        f"{task['total_records']}/{task['total_records']}",
    ]]


def test_the_run_is_tagged_with_its_partition_and_runs_the_four_steps_in_order(
        run_asset: Run, instance: DagsterInstance) -> None:
    name = "atas_atualizacao"
    result = run_asset(name, "2025-07-01")
    run = instance.get_run_by_id(result.run_id)
    assert run.tags["dagster/partition"] == "2025-07-01"
    succeeded = [e.step_key for e in result.all_events if e.is_step_success]
    assert succeeded == [f"pncp__{name}.{name}__{phase}" for phase in ("plan", "discover", "fetch", "reconcile")]


# -- a range of partitions in one run (what a single-run backfill launches) ------------------------

def test_a_three_month_range_runs_once_and_completes_every_month(
        run_asset: Run, replica: ReplicaServer, db_path: Path, instance: DagsterInstance) -> None:
    name = "contratacoes_publicacao"
    modalities = httpx.get(replica.url + MODALITIES_PATH, timeout=10).json()
    codes = sorted(row["id"] for row in modalities if row.get("statusAtivo", True))
    assert len(codes) == 19
    replica.reset_stats()

    result = run_asset(name, range_=("2025-04-01", "2025-06-01"))
    assert result.success

    runs = instance.get_runs()
    assert len(runs) == 1
    assert runs[0].run_id == result.run_id
    assert runs[0].tags[RANGE_START_TAG] == "2025-04-01" and runs[0].tags[RANGE_END_TAG] == "2025-06-01"

    rows = tasks(db_path, name)
    months = [date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)]
    assert len(rows) == 3 * len(codes)
    for month in months:
        assert sorted(r["modalidade"] for r in rows if r["data_date"] == month) == codes
    assert_all_complete(rows)
    assert sum(r["total_records"] for r in rows) > 0

    # One plan for the range (the modality table asked once), and no page requested twice.
    stats = replica.stats()
    assert stats["by_path"][MODALITIES_PATH] == 1
    assert max(stats["by_query"].values()) == 1
    assert stats["total"] == 1 + sum(max(r["total_pages"], 1) for r in rows)

    # One materialization per month, each describing its own month only.
    by_partition = metadata_by_partition(result, name)
    assert sorted(by_partition) == ["2025-04-01", "2025-05-01", "2025-06-01"]
    for month in months:
        meta = by_partition[month.isoformat()]
        of_month = [r for r in rows if r["data_date"] == month]
        assert meta["tasks_complete"] == len(codes)
        assert meta["records_landed"] == sum(r["records_landed"] for r in of_month)
        assert meta["pages_landed"] == meta["pages_expected"] == sum(max(r["total_pages"], 1) for r in of_month)
        assert [row[0] for row in month_rows(meta["months"])] == [f"{month:%Y-%m}"]


# -- reruns ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["contratos_publicacao", "contratacoes_publicacao"])
def test_rerunning_a_finished_partition_makes_no_request(
        run_asset: Run, replica: ReplicaServer, db_path: Path, name: str) -> None:
    run_asset(name, "2025-07-01")
    before = tasks(db_path, name)
    assert_all_complete(before)
    raw_before = query(db_path, "SELECT count(*) AS n FROM psa.pncp_raw_responses")
    replica.reset_stats()

    result = run_asset(name, "2025-07-01")

    assert result.success
    assert replica.stats()["total"] == 0
    assert query(db_path, "SELECT count(*) AS n FROM psa.pncp_raw_responses") == raw_before
    after = tasks(db_path, name)
    assert [(r["task_id"], r["status"], r["records_landed"]) for r in after] == \
           [(r["task_id"], r["status"], r["records_landed"]) for r in before]
    meta = metadata_by_partition(result, name)["2025-07-01"]
    assert meta["tasks_complete"] == len(before)
    assert meta["records_landed"] == sum(r["records_landed"] for r in before)


# -- empty months, one per way the API says "nothing here" -----------------------------------------

def find_empty_month(replica: ReplicaServer, name: str) -> tuple[date, httpx.Response]:
    """The first month from 2023-01 whose page 1 the replica answers with the endpoint's empty signal."""
    endpoint = get_endpoint(name)
    month = date(2023, 1, 1)
    with httpx.Client(base_url=replica.url + CONSULTA_PREFIX, timeout=10) as client:
        for _ in range(36):
            response = client.get(endpoint.path, params=endpoint.params(month, None, 1))
            if response.status_code != 200 or not response.content:
                return month, response
            month = add_months(month, 1)
    raise AssertionError(f"the replica has no empty month for {name} in 2023-2025")


@pytest.mark.parametrize("name, signal", [
    ("contratos_publicacao", EmptySignal.NO_CONTENT),
    ("pca_atualizacao", EmptySignal.EMPTY_BODY_200),
    ("instrumentoscobranca_inclusao", EmptySignal.NOT_FOUND_404),
])
def test_an_empty_month_ends_complete_with_zero_records(
        run_asset: Run, replica: ReplicaServer, db_path: Path, name: str, signal: EmptySignal) -> None:
    assert get_endpoint(name).empty_signal is signal
    month, response = find_empty_month(replica, name)
    if signal is EmptySignal.NO_CONTENT:
        assert response.status_code == 204 and response.content == b""
    elif signal is EmptySignal.EMPTY_BODY_200:
        assert response.status_code == 200 and response.content == b""
    else:
        assert response.status_code == 404 and response.json()["message"]

    result = run_asset(name, month.isoformat())

    assert result.success
    (task,) = tasks(db_path, name)
    assert task["data_date"] == month
    assert task["status"] == "COMPLETE"
    assert task["total_records"] == 0 and task["records_landed"] == 0
    assert task["total_pages"] == 0
    assert task["last_error"] is None
    meta = metadata_by_partition(result, name)[month.isoformat()]
    assert meta["tasks_complete"] == 1 and meta["tasks_partial"] == 0
    assert meta["records_landed"] == meta["records_expected"] == 0
    assert meta["pages_missing"] == 0


def test_a_month_before_the_endpoint_exists_is_a_no_op(run_asset: Run, replica: ReplicaServer, db_path: Path) -> None:
    # pca_atualizacao starts 2021-04 (the API refuses earlier dates with a 422); the partitions start 2021-01.
    assert get_endpoint("pca_atualizacao").first_month == date(2021, 4, 1)
    replica.reset_stats()
    result = run_asset("pca_atualizacao", "2021-02-01")
    assert result.success
    assert replica.stats()["total"] == 0
    assert tasks(db_path, "pca_atualizacao") == []
    meta = metadata_by_partition(result, "pca_atualizacao")["2021-02-01"]
    assert meta["tasks_failed"] == meta["tasks_complete"] == meta["pages_expected"] == 0


# -- faults, then a rerun that asks only for what is missing ---------------------------------------

def test_a_rerun_after_faults_requests_only_the_missing_pages(
        replica_factory: Callable[..., ReplicaServer], db_path: Path, run_asset: Run) -> None:
    faulty = replica_factory(fail_5xx=0.6)
    name = "contratacoes_publicacao"

    first = run_asset(name, "2025-07-01", raise_on_error=False, api=faulty)
    after_first = tasks(db_path, name)
    partial = [r for r in after_first if r["status"] == "PARTIAL"]
    undiscovered = {r["task_id"] for r in partial if r["total_pages"] is None}
    discovered_missing = {r["task_id"]: r for r in partial if r["total_pages"] is not None}
    assert undiscovered and discovered_missing, "the seeded faults must hit both page 1s and later pages"
    assert all(r["last_error"] for r in partial)
    # Current design: landing less than everything is not a run failure; the materialization says
    # what is missing, and the next run resumes it.
    assert first.success
    meta = metadata_by_partition(first, name)["2025-07-01"]
    assert meta["tasks_partial"] == len(partial)
    assert meta["tasks_complete"] == len(after_first) - len(partial)
    # an undiscovered task misses its page 1; a discovered one misses what its missing_pages says
    assert meta["pages_missing"] == len(undiscovered) + sum(
        len(json.loads(r["missing_pages"])) for r in discovered_missing.values())

    httpx.post(f"{faulty.url}/_replica/faults", json={"fail_5xx": 0.0}, timeout=10).raise_for_status()
    faulty.reset_stats()

    second = run_asset(name, "2025-07-01", api=faulty)

    assert second.success
    after_second = {r["task_id"]: r for r in tasks(db_path, name)}
    assert_all_complete(list(after_second.values()))
    stats = faulty.stats()
    expected = (sum(max(after_second[t]["total_pages"], 1) for t in undiscovered)
                + sum(len(json.loads(r["missing_pages"])) for r in discovered_missing.values()))
    assert stats["total"] == expected
    assert MODALITIES_PATH not in stats["by_path"]  # nothing new to plan
    assert max(stats["by_query"].values()) == 1


# -- under the shipped instance settings ----------------------------------------------------------

def test_ops_claim_and_release_the_single_duckdb_slot_under_dagster_yaml(
        run_asset: Run, db_path: Path, tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_HOME / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 0

        result = run_asset("atas_atualizacao", "2025-07-01", on=instance)

        assert result.success
        info = instance.event_log_storage.get_concurrency_info("duckdb")
        assert info.limit == 1
        assert info.slot_count == 1  # the pool's slots were created by the ops claiming them
        assert info.claimed_slots == [] and info.pending_steps == []  # and released when the run ended
    assert_all_complete(tasks(db_path, "atas_atualizacao"))
