"""The job the schedule and the sensor launch: every endpoint asset and the typed tables, by month.

The Parquet export is left out: writing files elsewhere is a user's choice, not a monthly chore.
"""

from dagster import AssetSelection, define_asset_job

from pncp_pipeline.defs.tables import GROUP as TABLES_GROUP
from pncp_pipeline.defs.tables import parquet_export

pncp_job = define_asset_job(
    "pncp_monthly",
    selection=AssetSelection.groups("pncp", TABLES_GROUP) - AssetSelection.assets(parquet_export),
    description="Materialize PNCP endpoint assets and their typed tables for one month "
                "(the schedule and the retry sensor use it).",
)
