"""One monthly partitioning shared by every endpoint asset: a partition key is a month's first day."""

from __future__ import annotations

from datetime import date

from dagster import MonthlyPartitionsDefinition

from pncp_pipeline.endpoints import EARLIEST_MONTH

monthly_partitions = MonthlyPartitionsDefinition(
    start_date=EARLIEST_MONTH.isoformat(), timezone="America/Sao_Paulo", fmt="%Y-%m-%d"
)


def month_of(partition_key: str) -> date:
    return date.fromisoformat(partition_key)
