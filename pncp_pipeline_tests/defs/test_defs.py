"""The Definitions Dagster loads: one monthly asset per enabled endpoint, four pooled ops each, and
the instance settings (dagster_home/dagster.yaml) that make the `duckdb` pool a one-writer lock."""

from __future__ import annotations

import shutil
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    GraphDefinition,
    MonthlyPartitionsDefinition,
)
from dagster._core.definitions.backfill_policy import BackfillPolicyType
from dagster._core.instance.config import PoolGranularity
from dagster_duckdb import DuckDBResource

from pncp_pipeline.defs.resources import connection_factory
from pncp_pipeline.endpoints import ENDPOINTS, EARLIEST_MONTH, enabled_endpoints, get_endpoint
from pncp_pipeline.storage import ROW_GROUP_SIZE
from pncp_pipeline_tests.defs.conftest import asset_key
from pncp_pipeline_tests.helpers import row_group_sizes

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_HOME = ROOT / "dagster_home"
PHASES = ("plan", "discover", "fetch", "reconcile")
ENABLED = [e.name for e in enabled_endpoints()]


@pytest.fixture(scope="module")
def defs() -> Definitions:
    from pncp_pipeline.definitions import defs

    return defs


@pytest.fixture(scope="module")
def assets(defs: Definitions) -> dict[AssetKey, AssetsDefinition]:
    """The endpoint assets (group `pncp`); the typed tables have their own tests."""
    graph = defs.resolve_asset_graph()
    return {key: graph.get(key).assets_def for key in graph.get_all_asset_keys() if key.path[0] == "pncp"}


def test_definitions_load_and_resolve(defs: Definitions) -> None:
    # The same checks `dagster dev` makes when it loads the code location.
    Definitions.validate_loadable(defs)
    defs.resolve_all_job_defs()
    assert set(defs.resources) == {"duckdb", "pncp_api"}


def test_one_asset_per_enabled_endpoint_and_nothing_else(assets: dict[AssetKey, AssetsDefinition]) -> None:
    assert len(ENABLED) >= 2
    assert sorted(assets) == sorted(asset_key(name) for name in ENABLED)
    # Each key comes from exactly one AssetsDefinition (no accidental duplicate graphs).
    assert len({id(a) for a in assets.values()}) == len(ENABLED)


def test_disabled_endpoints_have_no_asset(assets: dict[AssetKey, AssetsDefinition]) -> None:
    disabled = [e.name for e in ENDPOINTS if not e.enabled]
    assert "atas_vigencia" in disabled
    for name in disabled:
        assert asset_key(name) not in assets
        assert all(name not in key.to_user_string() for key in assets)


@pytest.mark.parametrize("name", ENABLED)
def test_asset_group_partitions_and_backfill_policy(assets: dict[AssetKey, AssetsDefinition], name: str) -> None:
    asset = assets[asset_key(name)]
    assert asset.group_names_by_key == {asset_key(name): "pncp"}
    assert asset.descriptions_by_key[asset_key(name)] == get_endpoint(name).description

    partitions = asset.partitions_def
    assert isinstance(partitions, MonthlyPartitionsDefinition)
    assert partitions.timezone == "America/Sao_Paulo"
    assert partitions.fmt == "%Y-%m-%d"
    assert partitions.cron_schedule == "0 0 1 * *"  # monthly, on the first day
    assert partitions.start.date() == EARLIEST_MONTH
    assert partitions.get_first_partition_key() == "2021-01-01"
    keys = partitions.get_partition_keys(current_time=datetime(2025, 8, 15))
    assert keys[:2] == ["2021-01-01", "2021-02-01"]
    assert keys[-1] == "2025-07-01"  # a month is a partition once it has ended

    policy = asset.backfill_policy
    assert policy == BackfillPolicy.single_run()
    assert policy.policy_type is BackfillPolicyType.SINGLE_RUN
    assert policy.max_partitions_per_run is None


def test_all_assets_share_one_partitions_definition(assets: dict[AssetKey, AssetsDefinition]) -> None:
    # One definition means a multi-asset backfill can target the same months across every endpoint.
    partitions = {a.partitions_def for a in assets.values()}
    assert len(partitions) == 1


@pytest.mark.parametrize("name", ENABLED)
def test_op_graph_is_plan_discover_fetch_reconcile(assets: dict[AssetKey, AssetsDefinition], name: str) -> None:
    graph = assets[asset_key(name)].node_def
    assert isinstance(graph, GraphDefinition)
    expected = [f"{name}__{phase}" for phase in PHASES]
    assert sorted(n.name for n in graph.nodes) == sorted(expected)

    structure = graph.dependency_structure
    upstream = {
        node: sorted({h.node_name for handles in structure.input_to_upstream_outputs_for_node(node).values()
                      for h in handles})
        for node in expected
    }
    assert upstream == {
        expected[0]: [],
        expected[1]: [expected[0]],
        expected[2]: [expected[1]],
        expected[3]: [expected[2]],
    }
    # The asset's value is the last op's output: materialization happens only after reconcile.
    (mapping,) = graph.output_mappings
    assert mapping.maps_from.node_name == expected[3]


@pytest.mark.parametrize("name", ENABLED)
def test_every_op_is_in_the_duckdb_pool(assets: dict[AssetKey, AssetsDefinition], name: str) -> None:
    graph = assets[asset_key(name)].node_def
    for op_def in graph.node_defs:
        assert op_def.pool == "duckdb", op_def.name
        assert "duckdb" in op_def.required_resource_keys, op_def.name
        assert op_def.tags.get("endpoint") == name
    needs_api = {op.name for op in graph.node_defs if "pncp_api" in op.required_resource_keys}
    assert needs_api == {f"{name}__plan", f"{name}__discover", f"{name}__fetch"}


def test_dagster_yaml_limits_the_duckdb_pool_and_frees_slots_of_dead_runs() -> None:
    config = yaml.safe_load((DAGSTER_HOME / "dagster.yaml").read_text(encoding="utf-8"))
    pools = config["concurrency"]["pools"]
    assert pools["default_limit"] == 1
    assert pools["granularity"] == "op"
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] is True
    assert isinstance(monitoring["free_slots_after_run_end_seconds"], int)
    assert monitoring["free_slots_after_run_end_seconds"] > 0


def test_dagster_yaml_is_a_valid_instance_config(tmp_path: Path) -> None:
    # A copy, so the instance's storage lands in tmp_path and never in the committed dagster_home.
    shutil.copy(DAGSTER_HOME / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        pool_config = instance.get_concurrency_config().pool_config
        assert pool_config.default_pool_limit == 1
        assert pool_config.pool_granularity is PoolGranularity.OP
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] > 0
        # The pool is unconfigured until first used; the default limit is what applies to it.
        info = instance.event_log_storage.get_concurrency_info("duckdb")
        assert info.limit == 1 and info.using_default_limit


def test_workspace_and_pyproject_point_at_the_definitions_module() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    (location,) = workspace["load_from"]
    assert location["python_module"]["module_name"] == "pncp_pipeline.definitions"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["dagster"]["module_name"] == "pncp_pipeline.definitions"


def test_the_job_schedule_and_sensor_target_every_endpoint_asset_and_table(defs: Definitions) -> None:
    from pncp_pipeline.defs.tables import table_assets

    job = defs.resolve_job_def("pncp_monthly")
    assert job.partitions_def is not None
    tables = {a.key for a in table_assets}
    assert set(job.asset_layer.executable_asset_keys) == {asset_key(name) for name in ENABLED} | tables
    (schedule,) = defs.schedules
    (sensor,) = defs.sensors
    assert schedule.job_name == sensor.job_name == "pncp_monthly"
    assert schedule.default_status is DefaultScheduleStatus.RUNNING
    assert sensor.default_status is DefaultSensorStatus.RUNNING
    assert "duckdb" in sensor.required_resource_keys


def test_ops_open_the_file_the_engines_way(tmp_path: Path) -> None:
    # Not DuckDBResource.get_connection(): that would write DuckDB's default 122,880-row groups.
    resource = DuckDBResource(database=str(tmp_path / "d.duckdb"), connection_config={"threads": 1})
    with connection_factory(resource)() as conn:
        conn.execute("INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date) "
                     "SELECT 't' || range, 'e', DATE '2024-01-01' FROM range(2 * ?)", [ROW_GROUP_SIZE])
        conn.execute("CHECKPOINT")
        counts = row_group_sizes(conn, "psa.pncp_extraction_tasks")
        (threads,) = conn.execute("SELECT current_setting('threads')").fetchone()
    assert counts == [ROW_GROUP_SIZE, ROW_GROUP_SIZE]
    assert threads == 1
