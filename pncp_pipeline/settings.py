"""Configuration from the environment, validated once, so a bad value fails with one clear line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pncp_pipeline.errors import UsageError

DEFAULT_BASE_URL = "https://pncp.gov.br"
DEFAULT_DUCKDB_PATH = "data/pncp.duckdb"

#: The consultation API and the domain tables hang off the same host.
CONSULTA_PREFIX = "/api/consulta"

PAGE_SIZE_PREFIX = "PNCP_PAGE_SIZE_"


@dataclass(frozen=True)
class ClientSettings:
    """How hard we hit the API. Defaults are polite to the real PNCP (SPEC §7: 429 after bursts)."""

    base_url: str = DEFAULT_BASE_URL
    concurrency: int = 4
    rate_per_s: float = 4.0
    timeout_s: float = 90.0
    connect_timeout_s: float = 15.0
    max_attempts: int = 6
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0

    def __post_init__(self) -> None:
        validate_base_url(self.base_url)
        if not 1 <= self.concurrency <= 64:
            raise UsageError(f"concurrency must be between 1 and 64, got {self.concurrency}")
        if not self.rate_per_s > 0:
            raise UsageError(f"request rate must be a positive number of requests/s, got {self.rate_per_s}")
        if not self.timeout_s > 0 or not self.connect_timeout_s > 0:
            raise UsageError("timeouts must be positive numbers of seconds")
        if self.max_attempts < 1:
            raise UsageError(f"max attempts must be at least 1, got {self.max_attempts}")
        if not 0 <= self.backoff_initial_s <= self.backoff_max_s:
            raise UsageError("backoff must satisfy 0 <= initial <= max")


@dataclass(frozen=True)
class Settings:
    duckdb_path: Path
    client: ClientSettings
    #: Page sizes below an endpoint's maximum, from PNCP_PAGE_SIZE_<ENDPOINT> (rarely useful: the
    #: maximum means the fewest requests, but a user may lower it for an endpoint that times out).
    page_sizes: Mapping[str, int] = field(default_factory=dict)

    @property
    def duckdb_path_is_default(self) -> bool:
        return self.duckdb_path == Path(DEFAULT_DUCKDB_PATH)


def validate_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"PNCP_BASE_URL must be an http(s) URL such as {DEFAULT_BASE_URL}, got {url!r}"
        )
    return url


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise UsageError(f"{name} must be a {kind.__name__}, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read PNCP_* variables; unset ones take the defaults documented in the README."""
    env = os.environ if env is None else env
    defaults = ClientSettings()
    client = ClientSettings(
        base_url=env.get("PNCP_BASE_URL") or DEFAULT_BASE_URL,
        concurrency=int(_number(env, "PNCP_CONCURRENCY", defaults.concurrency, int)),
        rate_per_s=_number(env, "PNCP_RATE_PER_S", defaults.rate_per_s, float),
        timeout_s=_number(env, "PNCP_TIMEOUT_S", defaults.timeout_s, float),
        max_attempts=int(_number(env, "PNCP_MAX_ATTEMPTS", defaults.max_attempts, int)),
        backoff_initial_s=_number(env, "PNCP_BACKOFF_INITIAL_S", defaults.backoff_initial_s, float),
        backoff_max_s=_number(env, "PNCP_BACKOFF_MAX_S", defaults.backoff_max_s, float),
    )
    return Settings(duckdb_path=Path(env.get("PNCP_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH), client=client,
                    page_sizes=_page_sizes(env))


def _page_sizes(env: Mapping[str, str]) -> dict[str, int]:
    from pncp_pipeline.endpoints import get_endpoint

    sizes = {}
    for name, raw in env.items():
        if not name.startswith(PAGE_SIZE_PREFIX) or not raw:
            continue
        endpoint = get_endpoint(name.removeprefix(PAGE_SIZE_PREFIX).lower())
        size = int(_number(env, name, 0, int))
        endpoint.with_page_size(size)  # refuses sizes the API would reject
        sizes[endpoint.name] = size
    return sizes
