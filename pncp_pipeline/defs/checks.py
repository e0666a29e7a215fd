"""Completeness you can see: three checks per endpoint asset, computed from the control and raw tables."""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from pncp_pipeline.defs.assets import POOL
from pncp_pipeline.defs.resources import connection_factory
from pncp_pipeline.endpoints import Endpoint, enabled_endpoints
from pncp_pipeline.storage import sql

CHECKS = {
    "all_tasks_complete": ("not_complete", "every task of the materialized months is COMPLETE"),
    "records_match_totals": ("records_mismatch", "records landed equal total_records for every COMPLETE task"),
    "no_duplicate_data_pages": ("duplicate_pages", "no page landed twice as data"),
}


def build_checks(endpoint: Endpoint) -> AssetChecksDefinition:
    key = AssetKey(["pncp", endpoint.name])

    @multi_asset_check(
        name=f"{endpoint.name}__checks",
        specs=[AssetCheckSpec(name, asset=key, description=text) for name, (_, text) in CHECKS.items()],
        pool=POOL,
    )
    def checks(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> Iterator[AssetCheckResult]:
        with connection_factory(duckdb)() as conn:
            cursor = conn.execute(sql("check_tasks"), {"endpoint": endpoint.name})
            names = [d[0] for d in cursor.description]
            months = [dict(zip(names, row)) for row in cursor.fetchall()]
        for name, (column, _) in CHECKS.items():
            bad = {f"{m['data_date']:%Y-%m}": m[column] for m in months if m[column]}
            yield AssetCheckResult(
                asset_key=key, check_name=name, passed=not bad,
                metadata={"months_checked": MetadataValue.int(len(months)),
                          "offending_months": MetadataValue.json(bad)},
            )

    return checks


endpoint_checks = [build_checks(e) for e in enabled_endpoints()]
