"""Shared fixtures: a real replica on an ephemeral port, and a temporary DuckDB file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.faults import Faults
from pncp_pipeline.replica.server import ReplicaServer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "pncp-api"

#: A fixed "today" keeps the replica's data identical whatever day the suite runs.
TODAY = date(2026, 11, 30)


@pytest.fixture
def replica_factory() -> Iterator[Callable[..., ReplicaServer]]:
    """Start replicas with any settings; every one is stopped when the test ends."""
    started: list[ReplicaServer] = []

    def start(seed: int = 1, scale: float = 1.0, latency_ms: float = 0.0,
              today: date = TODAY, **faults: Any) -> ReplicaServer:
        replica = Replica(seed=seed, scale=scale, latency_ms=latency_ms, faults=Faults(**faults), today=today)
        server = ReplicaServer(replica).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def replica(replica_factory: Callable[..., ReplicaServer]) -> ReplicaServer:
    return replica_factory()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pncp.duckdb"
