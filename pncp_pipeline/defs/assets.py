"""One monthly-partitioned asset per enabled endpoint, each an op graph plan -> discover -> fetch -> reconcile.

(No `from __future__ import annotations` here: Dagster inspects the `context` annotation at runtime.)

The ops work on the run's whole partition range (single-run backfills hand them a range), and every
op that opens DuckDB is in the `duckdb` pool, limited to 1 in dagster_home/dagster.yaml, so
concurrent runs queue for the file instead of failing on its lock.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    In,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    graph_asset,
    op,
)
from dagster_duckdb import DuckDBResource

from pncp_pipeline import control
from pncp_pipeline.defs.partitions import month_of, monthly_partitions
from pncp_pipeline.defs.resources import PncpApiResource, connection_factory
from pncp_pipeline.endpoints import Endpoint, enabled_endpoints
from pncp_pipeline.phases import discover, fetch, plan, reconcile
from pncp_pipeline.scope import Scope, configured


POOL = "duckdb"


def scope_of(context: OpExecutionContext | AssetExecutionContext, endpoint: Endpoint,
             api: PncpApiResource | None = None) -> Scope:
    """The run's months: one partition or a whole range (never `partition_key`, which raises on ranges)."""
    keys = context.partition_key_range
    endpoints = configured((endpoint,), api.page_sizes) if api else (endpoint,)
    return Scope(endpoints, month_of(keys.start), month_of(keys.end))


def run_metadata(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = dict.fromkeys(control.STATUSES, 0)
    for row in rows:
        counts[row["status"]] += row["tasks"]
    pages_expected = sum(r["pages_expected"] for r in rows)
    pages_landed = sum(r["pages_landed"] for r in rows)
    lines = ["| month | status | tasks | pages landed/expected | records landed/expected |", "|---|---|---|---|---|"]
    lines += [f"| {r['data_date']:%Y-%m} | {r['status']} | {r['tasks']} | {r['pages_landed']}/{r['pages_expected']} "
              f"| {r['records_landed']}/{r['records_expected']} |" for r in rows]
    return {
        **{f"tasks_{status.lower()}": MetadataValue.int(n) for status, n in counts.items()},
        "pages_landed": MetadataValue.int(pages_landed),
        "pages_expected": MetadataValue.int(pages_expected),
        "pages_missing": MetadataValue.int(pages_expected - pages_landed),
        "records_landed": MetadataValue.int(sum(r["records_landed"] for r in rows)),
        "records_expected": MetadataValue.int(sum(r["records_expected"] for r in rows)),
        "months": MetadataValue.md("\n".join(lines)),
    }


def build_endpoint_asset(endpoint: Endpoint) -> AssetsDefinition:
    name = endpoint.name
    tags = {"endpoint": name}

    @op(name=f"{name}__plan", out=Out(Nothing), pool=POOL, tags=tags)
    def plan_op(context: OpExecutionContext, duckdb: DuckDBResource, pncp_api: PncpApiResource) -> None:
        scope = scope_of(context, endpoint, pncp_api)
        result = plan.run(connection_factory(duckdb), scope, pncp_api.settings())
        context.log.info(f"plan: {result.new_tasks} new task(s) for {scope.describe()}")

    @op(name=f"{name}__discover", ins={"planned": In(Nothing)}, out=Out(Nothing), pool=POOL, tags=tags)
    def discover_op(context: OpExecutionContext, duckdb: DuckDBResource, pncp_api: PncpApiResource) -> None:
        discover.run(connection_factory(duckdb), scope_of(context, endpoint, pncp_api), pncp_api.settings(),
                     context.run_id, context.log)

    @op(name=f"{name}__fetch", ins={"discovered": In(Nothing)}, out=Out(Nothing), pool=POOL, tags=tags)
    def fetch_op(context: OpExecutionContext, duckdb: DuckDBResource, pncp_api: PncpApiResource) -> None:
        fetch.run(connection_factory(duckdb), scope_of(context, endpoint, pncp_api), pncp_api.settings(),
                  context.run_id, context.log)

    @op(name=f"{name}__reconcile", ins={"fetched": In(Nothing)}, out=Out(Nothing), pool=POOL, tags=tags)
    def reconcile_op(context: AssetExecutionContext, duckdb: DuckDBResource) -> Any:
        scope = scope_of(context, endpoint)
        reconciled = reconcile.run(connection_factory(duckdb), scope)
        rows = reconciled.summary
        if reconciled.drifted:
            context.log.warning(f"reconcile: totals changed under {reconciled.drifted} task(s) while they were "
                                "downloaded; they will be discovered again (the retry sensor asks for it)")
        # A range run materializes every month of it: each month's event describes that month only.
        for key in context.partition_keys:
            month = month_of(key)
            context.add_asset_metadata(run_metadata([r for r in rows if r["data_date"] == month]), partition_key=key)
        metadata = run_metadata(rows)
        context.log.info(
            f"reconcile: {scope.describe()}: {metadata['tasks_complete'].value} COMPLETE, "
            f"{metadata['tasks_partial'].value} PARTIAL, {metadata['tasks_failed'].value} FAILED; "
            f"{metadata['pages_landed'].value}/{metadata['pages_expected'].value} pages")
        yield Output(None)

    @graph_asset(
        name=name,
        key_prefix=["pncp"],
        group_name="pncp",
        partitions_def=monthly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        description=endpoint.description,
        kinds={"duckdb"},
    )
    def endpoint_asset() -> Any:
        return reconcile_op(fetch_op(discover_op(plan_op())))

    return endpoint_asset


endpoint_assets = [build_endpoint_asset(e) for e in enabled_endpoints()]
