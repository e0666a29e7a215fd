"""Dagster only: partitions, resources and assets, each a thin face over the engine."""
