"""Resources: DuckDB through dagster-duckdb, and the PNCP API client's settings."""

from __future__ import annotations

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource
from pydantic import Field

from pncp_pipeline.settings import DEFAULT_DUCKDB_PATH, ClientSettings, load_settings
from pncp_pipeline.storage import ConnectionFactory, open_database

_DEFAULTS = ClientSettings()


class PncpApiResource(ConfigurableResource):
    """How hard the run may hit the API; defaults come from the PNCP_* environment variables."""

    base_url: str = Field(default=_DEFAULTS.base_url, description="PNCP host; the consultation API is under /api/consulta")
    concurrency: int = Field(default=_DEFAULTS.concurrency, description="requests in flight at once")
    rate_per_s: float = Field(default=_DEFAULTS.rate_per_s, description="request-rate ceiling (adaptive below it)")
    timeout_s: float = Field(default=_DEFAULTS.timeout_s, description="per-request read timeout")
    max_attempts: int = Field(default=_DEFAULTS.max_attempts, description="attempts per page before leaving it missing")
    backoff_initial_s: float = Field(default=_DEFAULTS.backoff_initial_s)
    backoff_max_s: float = Field(default=_DEFAULTS.backoff_max_s)
    page_sizes: dict[str, int] = Field(default={}, description="endpoint name -> page size below the API's maximum")

    @classmethod
    def from_env(cls) -> "PncpApiResource":
        settings = load_settings()
        c = settings.client
        return cls(base_url=c.base_url, concurrency=c.concurrency, rate_per_s=c.rate_per_s, timeout_s=c.timeout_s,
                   max_attempts=c.max_attempts, backoff_initial_s=c.backoff_initial_s, backoff_max_s=c.backoff_max_s,
                   page_sizes=dict(settings.page_sizes))

    def settings(self) -> ClientSettings:
        return ClientSettings(base_url=self.base_url, concurrency=self.concurrency, rate_per_s=self.rate_per_s,
                              timeout_s=self.timeout_s, max_attempts=self.max_attempts,
                              backoff_initial_s=self.backoff_initial_s, backoff_max_s=self.backoff_max_s)


def connection_factory(resource: DuckDBResource) -> ConnectionFactory:
    """The engine's connection factory over DuckDBResource's settings, opened the engine's way.

    Not `resource.get_connection()`: that opens the file without the row-group size the raw
    table needs (`storage.ROW_GROUP_SIZE`), and without lock-aware retries and readable errors.
    The resource's `connection_config` still applies, over the engine's defaults.
    """
    # the default path's directory is created on first use; a user's own path must already exist
    create_dir = resource.database == DEFAULT_DUCKDB_PATH
    return lambda: open_database(resource.database, create_dir=create_dir, config=resource.connection_config)
