"""The typed tables in Dagster: one monthly asset per table downstream of its endpoint assets, three
checks per table, and the Parquet export. Thin faces over tables.py, report.py and export.py.

(No `from __future__ import annotations` here: Dagster inspects the `context` annotation at runtime.)

A table asset's partition is a month of its rows' `source_month` (the month the winning version was
extracted for); materializing a range rebuilds exactly those months, in one run (single-run backfill
policy), in the `duckdb` pool like every op that opens the file.
"""

import os
import warnings
from collections.abc import Iterator
from datetime import date
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    BetaWarning,
    Config,
    MetadataValue,
    TableColumn,
    TableSchema,
    asset,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pncp_pipeline import export, report, tables
from pncp_pipeline.control import STATUSES
from pncp_pipeline.defs.assets import POOL
from pncp_pipeline.defs.partitions import month_of, monthly_partitions
from pncp_pipeline.defs.resources import connection_factory
from pncp_pipeline.tables import TABLES, Table

GROUP = "pncp_tables"
DEFAULT_EXPORT_DIR = "data/parquet"


def table_key(table: Table) -> AssetKey:
    return AssetKey([GROUP, table.name])


def run_months(context: AssetExecutionContext | AssetCheckExecutionContext) -> list[date] | None:
    """The months of the run (one partition or a single-run range); None for an unpartitioned run."""
    ctx = context.op_execution_context
    if not (ctx.has_partition_key or ctx.has_partition_key_range):
        return None
    return [month_of(k) for k in monthly_partitions.get_partition_keys_in_range(ctx.partition_key_range)]


def column_schema(conn: Any, table: Table) -> TableSchema:
    return TableSchema(columns=[TableColumn(name, kind, description=comment)
                                for name, kind, comment in tables.columns(conn, table)])


def coverage_metadata(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's figures (report.py) for the table's endpoints: what `pncp-pipeline report` prints."""
    totals = report.totals(rows)
    return {
        **{f"tasks_{status.lower()}": MetadataValue.int(totals[status.lower()]) for status in STATUSES},
        **{name: MetadataValue.int(totals[name]) for name in report.COUNTS},
        "coverage": MetadataValue.md(report.as_markdown(rows)),
    }


def _asset(**kwargs: Any) -> Any:
    """@asset without the BetaWarning Dagster prints for `backfill_policy` on @asset (graph_asset's
    is not flagged): the single-run policy is the project's for every partitioned asset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        decorator = asset(**kwargs)

    def apply(fn: Any) -> AssetsDefinition:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BetaWarning)
            return decorator(fn)

    return apply


def build_table_asset(table: Table) -> AssetsDefinition:
    @_asset(
        key=table_key(table),
        group_name=GROUP,
        deps=[AssetKey(["pncp", e.name]) for e in table.enabled_sources],
        partitions_def=monthly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=POOL,
        kinds={"duckdb"},
        description=f"{table.description} DuckDB table {table.qualified}; partition = source_month.",
        metadata={"table": table.qualified, "sources": ", ".join(table.endpoints)},
    )
    def table_asset(context: AssetExecutionContext, duckdb: DuckDBResource) -> None:
        months = run_months(context) or []
        with connection_factory(duckdb)() as conn:
            (result,) = tables.refresh(conn, months, [table])
            coverage = report.coverage(conn, endpoints=table.endpoints)
            schema = column_schema(conn, table)
        for key in context.partition_keys:
            month = month_of(key)
            context.add_asset_metadata({
                "dagster/row_count": MetadataValue.int(result.rows_by_month.get(month, 0)),
                "dagster/column_schema": schema,
                "dagster/table_name": table.qualified,
                **coverage_metadata([r for r in coverage if r["month"] == month]),
            }, partition_key=key)
        context.log.info(
            f"{table.qualified}: {len(months)} month(s) rebuilt, {result.versions} version(s) staged, "
            f"{result.inserted} row(s) written, {result.deleted} removed or replaced, {result.reparsed_pages} page(s) "
            f"re-read from other months; {result.rows} row(s) in these months now")

    return table_asset


CHECKS = {
    "keys_unique": "one row per record key across the whole table",
    "landed_records_present": "every record of every landed data page of the checked months has its row",
    "counts_match_totals": ("per endpoint-month, declared total_records = distinct records + records "
                            "repeated across pages by unstable ordering (reported as moved_between_pages)"),
}


def build_table_checks(table: Table) -> AssetChecksDefinition:
    key = table_key(table)

    @multi_asset_check(
        name=f"{table.name}__table_checks",
        specs=[AssetCheckSpec(name, asset=key, description=text) for name, text in CHECKS.items()],
        pool=POOL,
    )
    def checks(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> Iterator[AssetCheckResult]:
        with connection_factory(duckdb)() as conn:
            tables.ensure_tables(conn, [table])
            months = run_months(context) or tables.latest_refresh_months(conn, table)
            keys = tables.key_count(conn, table)
            landed = tables.landed(conn, table, months)
        checked = {"months_checked": MetadataValue.json(sorted({f"{m:%Y-%m}" for m in months}))}
        yield AssetCheckResult(
            asset_key=key, check_name="keys_unique", passed=keys.duplicate_rows == 0,
            metadata={"rows": MetadataValue.int(keys.rows), "keys": MetadataValue.int(keys.keys),
                      "duplicate_rows": MetadataValue.int(keys.duplicate_rows)},
        )
        absent = {f"{m.endpoint} {m.month:%Y-%m}": {"missing": m.missing, "unkeyed": m.unkeyed}
                  for m in landed if m.missing or m.unkeyed}
        yield AssetCheckResult(
            asset_key=key, check_name="landed_records_present", passed=not absent,
            metadata={**checked, "records_landed": MetadataValue.int(sum(m.occurrences for m in landed)),
                      "missing": MetadataValue.int(sum(m.missing for m in landed)),
                      "unkeyed": MetadataValue.int(sum(m.unkeyed for m in landed)),
                      "offending": MetadataValue.json(absent)},
        )
        complete = [m for m in landed if m.is_complete]
        unexplained = {f"{m.endpoint} {m.month:%Y-%m}": m.unexplained for m in complete if m.unexplained}
        moved = {f"{m.endpoint} {m.month:%Y-%m}": m.moved for m in complete if m.moved}
        yield AssetCheckResult(
            asset_key=key, check_name="counts_match_totals", passed=not unexplained,
            metadata={**checked,
                      "declared": MetadataValue.int(sum(m.declared for m in complete)),
                      "distinct": MetadataValue.int(sum(m.distinct_records for m in complete)),
                      "moved_between_pages": MetadataValue.int(sum(moved.values())),
                      "moved_by_month": MetadataValue.json(moved),
                      "unexplained_by_month": MetadataValue.json(unexplained),
                      "months_not_complete": MetadataValue.json(
                          sorted(f"{m.endpoint} {m.month:%Y-%m}" for m in landed if not m.is_complete))},
        )

    return checks


class ExportConfig(Config):
    out_dir: str = Field(default_factory=lambda: os.environ.get("PNCP_EXPORT_DIR") or DEFAULT_EXPORT_DIR,
                         description="folder for <table>/month=YYYY-MM/*.parquet (default $PNCP_EXPORT_DIR "
                                     f"or {DEFAULT_EXPORT_DIR})")


@_asset(
    key=AssetKey([GROUP, "parquet_export"]),
    group_name=GROUP,
    deps=[table_key(t) for t in TABLES],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    pool=POOL,
    kinds={"parquet"},
    description="Every typed table as Parquet, partitioned by month (DuckDB COPY ... PARTITION_BY); the run's "
                "months are replaced, other months' files are left alone.",
)
def parquet_export(context: AssetExecutionContext, config: ExportConfig, duckdb: DuckDBResource) -> None:
    months = run_months(context) or []
    start, end = (months[0], months[-1]) if months else (None, None)
    with connection_factory(duckdb)() as conn:
        results = export.export(conn, config.out_dir, start=start, end=end)
    for key in context.partition_keys:
        label = f"{month_of(key):%Y-%m}"
        context.add_asset_metadata({
            "path": MetadataValue.path(os.path.abspath(config.out_dir)),
            "tables": MetadataValue.json({r.table: label in r.months for r in results}),
        }, partition_key=key)
    context.log.info("export: " + ", ".join(f"{r.table} {r.rows} row(s)" for r in results)
                     + f" to {os.path.abspath(config.out_dir)}")


table_assets = [build_table_asset(t) for t in TABLES]
table_checks = [build_table_checks(t) for t in TABLES]
