"""The job the schedule and the sensor launch: every endpoint asset, by month."""

from dagster import AssetSelection, define_asset_job

pncp_job = define_asset_job(
    "pncp_monthly", selection=AssetSelection.groups("pncp"),
    description="Materialize PNCP endpoint assets for one month (the schedule and the retry sensor use it).",
)
