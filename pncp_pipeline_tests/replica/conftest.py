"""Fixtures for the replica tests: an HTTP client on the shared `replica` server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.replica.support import api_client


@pytest.fixture
def api(replica: ReplicaServer) -> Iterator[httpx.Client]:
    """A client whose base URL is the replica's `/api/consulta`."""
    with api_client(replica.url) as client:
        yield client
