"""Fixtures for the replica tests.

`api` talks to one seed-1 replica shared by the whole session: the replica's data is a pure
function of the request, so read-only tests cannot disturb each other, and starting a server per
test would cost more than the tests. Tests that change fault switches or read counters use the
per-test `replica` / `replica_factory` fixtures of the parent conftest instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import TODAY
from pncp_pipeline_tests.replica.support import api_client


@pytest.fixture(scope="session")
def shared_server() -> Iterator[ReplicaServer]:
    with ReplicaServer(Replica(seed=1, today=TODAY)) as server:
        yield server


@pytest.fixture(scope="session")
def api(shared_server: ReplicaServer) -> Iterator[httpx.Client]:
    """A client whose base URL is the shared replica's `/api/consulta` (one pool for the session)."""
    with api_client(shared_server.url) as client:
        yield client
