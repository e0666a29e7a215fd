"""Fixtures for the Dagster-layer tests: real assets, a real replica over HTTP, a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetKey, AssetsDefinition, DagsterInstance, ExecuteInProcessResult, materialize
from dagster_duckdb import DuckDBResource

from pncp_pipeline.defs.assets import endpoint_assets
from pncp_pipeline.defs.resources import PncpApiResource
from pncp_pipeline.replica.server import ReplicaServer

ASSETS: dict[str, AssetsDefinition] = {a.key.path[-1]: a for a in endpoint_assets}

#: Dagster's run tags for "this run covers a range of partitions" (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def asset_key(name: str) -> AssetKey:
    return AssetKey(["pncp", name])


def resources_for(replica: ReplicaServer, db_path: Path) -> dict[str, Any]:
    return {
        "duckdb": DuckDBResource(database=str(db_path)),
        "pncp_api": PncpApiResource(base_url=replica.url, rate_per_s=500, concurrency=8,
                                    backoff_initial_s=0.01, backoff_max_s=0.05, max_attempts=3),
    }


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def run_asset(replica: ReplicaServer, db_path: Path, instance: DagsterInstance) -> Callable[..., ExecuteInProcessResult]:
    """Materialize one endpoint asset in-process, for one partition or (start, end) in one run.

    `on` replaces the ephemeral instance, `api` the default replica."""

    def run(name: str, partition: str | None = None, *, range_: tuple[str, str] | None = None,
            raise_on_error: bool = True, on: DagsterInstance | None = None,
            api: ReplicaServer | None = None) -> ExecuteInProcessResult:
        tags = {RANGE_START_TAG: range_[0], RANGE_END_TAG: range_[1]} if range_ else None
        return materialize([ASSETS[name]], resources=resources_for(api or replica, db_path), instance=on or instance,
                           partition_key=partition, tags=tags, raise_on_error=raise_on_error)

    return run


def query(db_path: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows as dicts, read with a short-lived read-only connection (released before the next run)."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        cursor = conn.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def tasks(db_path: Path, name: str) -> list[dict[str, Any]]:
    return query(db_path, "SELECT * FROM psa.pncp_extraction_tasks WHERE endpoint_name = ? "
                          "ORDER BY data_date, modalidade", name)
