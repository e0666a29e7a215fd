"""The one Definitions object Dagster loads (workspace.yaml and `dagster ... -m` point here)."""

from __future__ import annotations

from dagster import Definitions
from dagster_duckdb import DuckDBResource

from pncp_pipeline.defs.assets import endpoint_assets
from pncp_pipeline.defs.checks import endpoint_checks
from pncp_pipeline.defs.jobs import pncp_job
from pncp_pipeline.defs.resources import PncpApiResource
from pncp_pipeline.defs.schedules import monthly_schedule
from pncp_pipeline.defs.sensors import retry_sensor
from pncp_pipeline.defs.tables import parquet_export, table_assets, table_checks
from pncp_pipeline.settings import load_settings

_settings = load_settings()

defs = Definitions(
    assets=[*endpoint_assets, *table_assets, parquet_export],
    asset_checks=[*endpoint_checks, *table_checks],
    jobs=[pncp_job],
    schedules=[monthly_schedule],
    sensors=[retry_sensor],
    resources={
        "duckdb": DuckDBResource(database=str(_settings.duckdb_path)),
        "pncp_api": PncpApiResource.from_env(),
    },
)
