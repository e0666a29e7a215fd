"""The typed tables in Dagster: definitions (keys, deps, partitions, pool, policy), and in-process
materializations of endpoint asset -> table asset -> checks -> Parquet export against the replica."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    BackfillPolicy,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    MonthlyPartitionsDefinition,
    materialize,
)

from pncp_pipeline.defs.partitions import monthly_partitions
from pncp_pipeline.defs.tables import GROUP, parquet_export, table_assets, table_checks, table_key
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline.tables import TABLES, get_table
from pncp_pipeline_tests.defs.conftest import (
    ASSETS,
    RANGE_END_TAG,
    RANGE_START_TAG,
    asset_key,
    query,
    resources_for,
)

TABLE_ASSETS = {a.key.path[-1]: a for a in table_assets}
TABLE_CHECKS = {next(iter(c.check_keys)).asset_key.path[-1]: c for c in table_checks}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    from pncp_pipeline.definitions import defs

    return defs


def materialize_tables(replica: ReplicaServer, db_path: Path, instance: DagsterInstance, endpoint: str,
                       table: str, *, partition: str | None = None, range_: tuple[str, str] | None = None,
                       extra: list[Any] | None = None, run_config: dict[str, Any] | None = None,
                       ) -> ExecuteInProcessResult:
    """The endpoint asset, the table asset downstream of it and the table's checks, in one run."""
    tags = {RANGE_START_TAG: range_[0], RANGE_END_TAG: range_[1]} if range_ else None
    return materialize([ASSETS[endpoint], TABLE_ASSETS[table], TABLE_CHECKS[table], *(extra or [])],
                       resources=resources_for(replica, db_path), instance=instance, partition_key=partition,
                       tags=tags, run_config=run_config)


def checks_of(result: ExecuteInProcessResult) -> dict[str, Any]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


# -- definitions -----------------------------------------------------------------------------------

def test_every_table_is_a_monthly_asset_downstream_of_its_enabled_endpoints(defs: Definitions) -> None:
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    for table in TABLES:
        node = graph.get(table_key(table))
        assets_def = node.assets_def
        assert assets_def.group_names_by_key[table_key(table)] == GROUP
        assert node.parent_keys == {asset_key(e.name) for e in table.enabled_sources}
        assert assets_def.partitions_def is monthly_partitions
        assert isinstance(assets_def.partitions_def, MonthlyPartitionsDefinition)
        assert assets_def.backfill_policy == BackfillPolicy.single_run()
        assert assets_def.op.pool == "duckdb"
        assert "duckdb" in assets_def.op.required_resource_keys
    # atas_vigencia is disabled: pncp.atas reads its pages when present but has no dependency on it.
    assert graph.get(table_key(get_table("atas"))).parent_keys == {asset_key("atas_atualizacao")}
    export = graph.get(AssetKey([GROUP, "parquet_export"]))
    assert export.parent_keys == {table_key(t) for t in TABLES}
    assert export.assets_def.op.pool == "duckdb"


def test_three_checks_per_table_in_the_duckdb_pool(defs: Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for table in TABLES:
        names = {k.name for k in graph.get(table_key(table)).check_keys}
        assert names == {"keys_unique", "landed_records_present", "counts_match_totals"}
    for checks in table_checks:
        assert checks.op.pool == "duckdb"


# -- materializations ------------------------------------------------------------------------------

def test_one_partition_builds_the_table_and_every_check_passes(replica: ReplicaServer, db_path: Path,
                                                               instance: DagsterInstance) -> None:
    result = materialize_tables(replica, db_path, instance, "contratos_atualizacao", "contratos",
                                partition="2025-07-01")
    assert result.success
    (rows,) = query(db_path, "SELECT count(*) AS n, count(DISTINCT record_key) AS k FROM pncp_data.contratos "
                             "WHERE source_month = DATE '2025-07-01'")
    (task,) = query(db_path, "SELECT total_records, records_distinct FROM psa.pncp_extraction_tasks "
                             "WHERE endpoint_name = 'contratos_atualizacao'")
    assert rows["n"] == rows["k"] == task["records_distinct"] > 500

    events = [e for e in result.get_asset_materialization_events() if e.asset_key == table_key(get_table("contratos"))]
    (event,) = events
    assert event.partition == "2025-07-01"
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["dagster/row_count"] == rows["n"]
    assert meta["records_declared"] == meta["records_landed"] == task["total_records"]
    assert meta["records_distinct"] == task["records_distinct"]
    assert meta["tasks_complete"] == 1 and meta["tasks_partial"] == 0
    assert "| contratos_atualizacao | 2025-07 | 1 | COMPLETE 1 |" in meta["coverage"]
    columns = {c.name: c for c in meta["dagster/column_schema"].columns}
    assert columns["valor_global"].type == "DECIMAL(38,4)"
    assert "Brasília" in columns["data_publicacao_pncp"].description

    checks = checks_of(result)
    assert set(checks) == {"keys_unique", "landed_records_present", "counts_match_totals"}
    assert all(c.passed for c in checks.values()), {n: c.metadata for n, c in checks.items()}
    assert checks["counts_match_totals"].metadata["months_checked"].value == ["2025-07"]
    assert checks["counts_match_totals"].metadata["moved_between_pages"].value == 0


def test_a_range_run_rebuilds_every_month_and_reports_each(replica: ReplicaServer, db_path: Path,
                                                          instance: DagsterInstance) -> None:
    result = materialize_tables(replica, db_path, instance, "atas_atualizacao", "atas",
                                range_=("2025-05-01", "2025-06-01"))
    assert result.success
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == table_key(get_table("atas"))]
    by_month = {e.partition: e.materialization.metadata["dagster/row_count"].value for e in events}
    counted = {f"{r['m']:%Y-%m-%d}": r["n"] for r in query(
        db_path, "SELECT source_month AS m, count(*) AS n FROM pncp_data.atas GROUP BY 1")}
    assert by_month == {"2025-05-01": counted.get("2025-05-01", 0), "2025-06-01": counted.get("2025-06-01", 0)}
    assert sum(by_month.values()) > 0
    checks = checks_of(result)
    assert all(c.passed for c in checks.values())
    assert checks["landed_records_present"].metadata["months_checked"].value == ["2025-05", "2025-06"]


def test_checks_fail_when_the_table_lacks_a_landed_record(replica: ReplicaServer, db_path: Path,
                                                          instance: DagsterInstance) -> None:
    assert materialize_tables(replica, db_path, instance, "atas_atualizacao", "atas", partition="2025-07-01").success
    with duckdb.connect(str(db_path)) as conn:
        conn.execute("DELETE FROM pncp_data.atas WHERE record_key = (SELECT min(record_key) FROM pncp_data.atas)")
    # The checks alone (no partition): they look at the months of the table's latest refresh.
    result = materialize([TABLE_ASSETS["atas"], TABLE_CHECKS["atas"]], resources=resources_for(replica, db_path),
                         instance=instance, selection=AssetSelection.all_asset_checks())
    checks = checks_of(result)
    assert not checks["landed_records_present"].passed
    assert checks["landed_records_present"].metadata["missing"].value == 1
    assert checks["landed_records_present"].metadata["months_checked"].value == ["2025-07"]
    assert checks["keys_unique"].passed and checks["counts_match_totals"].passed


def test_unstable_ordering_is_reported_by_number_and_explains_the_gap(replica_factory: Any, db_path: Path,
                                                                      instance: DagsterInstance) -> None:
    server = replica_factory(unstable_order=1.0)
    result = materialize_tables(server, db_path, instance, "contratos_publicacao", "contratos",
                                partition="2025-07-01")
    counts = checks_of(result)["counts_match_totals"]
    assert counts.passed
    (task,) = query(db_path, "SELECT total_pages, total_records, records_distinct FROM psa.pncp_extraction_tasks")
    moved = counts.metadata["moved_between_pages"].value
    assert moved == task["total_pages"] - 1 > 0  # every page boundary repeated one record
    assert counts.metadata["declared"].value - counts.metadata["distinct"].value == moved
    assert counts.metadata["distinct"].value == task["records_distinct"]


def test_the_export_asset_writes_the_runs_months_as_parquet(replica: ReplicaServer, db_path: Path,
                                                            instance: DagsterInstance, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    others = [a for name, a in TABLE_ASSETS.items() if name != "atas"]
    result = materialize_tables(replica, db_path, instance, "atas_atualizacao", "atas", partition="2025-07-01",
                                extra=[*others, parquet_export],
                                run_config={"ops": {"pncp_tables__parquet_export": {"config": {"out_dir": str(out)}}}})
    assert result.success
    assert sorted(p.name for p in (out / "atas").iterdir()) == ["month=2025-07"]
    (n,) = query(db_path, f"SELECT count(*) AS n FROM read_parquet('{out}/atas/*/*.parquet')")
    (rows,) = query(db_path, "SELECT count(*) AS n FROM pncp_data.atas")
    assert n["n"] == rows["n"] > 0
    # Tables whose endpoints were not extracted exist but are empty: nothing written for them.
    assert not any((out / "contratos").glob("month=*"))
