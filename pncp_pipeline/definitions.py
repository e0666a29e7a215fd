"""The one Definitions object Dagster loads (workspace.yaml and `dagster ... -m` point here)."""

from __future__ import annotations

from dagster import Definitions
from dagster_duckdb import DuckDBResource

from pncp_pipeline.defs.assets import endpoint_assets
from pncp_pipeline.defs.resources import PncpApiResource
from pncp_pipeline.settings import load_settings
from pncp_pipeline.storage import CONNECTION_CONFIG

_settings = load_settings()

defs = Definitions(
    assets=endpoint_assets,
    resources={
        "duckdb": DuckDBResource(database=str(_settings.duckdb_path), connection_config=CONNECTION_CONFIG),
        "pncp_api": PncpApiResource.from_env(),
    },
)
