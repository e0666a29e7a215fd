"""The replica's counters: GET /_replica/stats and POST /_replica/reset-stats."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.replica.support import API, Params, api_client, call, case

C = case("contratacoes_publicacao")
PAGE_1: Params = {**C.params, "pagina": 1}
EMPTY_STATS = {"total": 0, "by_path": {}, "by_status": {}, "by_path_status": {}, "by_query": {}, "faults": {},
               "max_in_flight": 0}


def stats(server: ReplicaServer) -> dict[str, Any]:
    response = call("GET", f"{server.url}/_replica/stats")
    assert response.status_code == 200
    return response.json()


def query_key(path: str, params: Params) -> str:
    """How the replica names a request in `by_query`: the path and its sorted parameters."""
    return f"{API}{path}?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))


def test_a_fresh_replica_has_counted_nothing(replica: ReplicaServer) -> None:
    assert stats(replica) == EMPTY_STATS


def test_requests_are_counted_by_path_status_and_query(replica: ReplicaServer) -> None:
    publicacao, pca = API + C.path, API + "/v1/pca/atualizacao"
    with api_client(replica.url) as api:
        assert api.get(C.path, params=PAGE_1).status_code == 200
        assert api.get(C.path, params=PAGE_1).status_code == 200
        assert api.get(C.path, params={**PAGE_1, "codigoModalidadeContratacao": 2}).status_code == 204
        assert api.get(C.path, params={"pagina": 1}).status_code == 400
        assert api.get("/v1/pca/atualizacao", params={"dataInicio": "20250701", "dataFim": "20250701",
                                                      "pagina": 1}).status_code == 200
        assert api.get("/v1/nada").status_code == 404
    assert call("GET", f"{replica.url}/api/pncp/v1/modalidades").status_code == 200

    counted = stats(replica)
    assert counted["total"] == 7
    assert counted["by_path"] == {publicacao: 4, pca: 1, API + "/v1/nada": 1, "/api/pncp/v1/modalidades": 1}
    assert counted["by_status"] == {"200": 4, "204": 1, "400": 1, "404": 1}
    assert counted["by_path_status"][publicacao] == {"200": 2, "204": 1, "400": 1}
    assert counted["by_query"][query_key(C.path, PAGE_1)] == 2
    assert sum(counted["by_query"].values()) == 7
    assert counted["faults"] == {}


def test_control_endpoints_are_not_counted(replica: ReplicaServer) -> None:
    with api_client(replica.url) as api:
        api.get(C.path, params=PAGE_1).raise_for_status()
    for _ in range(3):
        stats(replica)
    call("GET", f"{replica.url}/_replica/faults").raise_for_status()
    call("POST", f"{replica.url}/_replica/faults", json={"fail_html": 0}).raise_for_status()
    assert call("GET", f"{replica.url}/_replica/unknown").status_code == 404
    counted = stats(replica)
    assert counted["total"] == 1
    assert all(not path.startswith("/_replica") for path in counted["by_path"])


def test_reset_stats_zeroes_every_counter(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_5xx=0.5)
    with api_client(server.url) as api:
        for page in range(1, 11):
            api.get(C.path, params={**PAGE_1, "pagina": page})
    assert stats(server)["total"] == 10 and stats(server)["faults"]
    response = call("POST", f"{server.url}/_replica/reset-stats")
    assert response.status_code == 200 and response.json() == {"reset": True}
    assert stats(server) == EMPTY_STATS
    with api_client(server.url) as api:
        api.get(C.path, params=PAGE_1)
    assert stats(server)["total"] == 1  # counting goes on after a reset


@pytest.mark.parametrize("kind,status", [("fail_429", "429"), ("fail_html", "200"), ("fail_reset", "reset")])
def test_faults_are_counted_with_what_was_sent(replica_factory: Callable[..., ReplicaServer], kind: str,
                                               status: str) -> None:
    server = replica_factory(**{kind: 1.0})
    with api_client(server.url) as api:
        for page in range(1, 6):
            try:
                api.get(C.path, params={**PAGE_1, "pagina": page})
            except Exception:  # the reset fault drops the connection; the counters are what we check
                pass
    counted = stats(server)
    assert counted["faults"] == {kind: 5}
    assert counted["by_status"] == {status: 5}


def test_concurrent_requests_all_get_counted(replica: ReplicaServer) -> None:
    with api_client(replica.url) as api, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: api.get(C.path, params={**PAGE_1, "pagina": n}).status_code,
                                 range(1, 101)))
    counted = stats(replica)
    assert counted["total"] == 100 == sum(counted["by_status"].values())
    assert counted["by_status"] == {str(s): statuses.count(s) for s in set(statuses)}
    assert len(counted["by_query"]) == 100


def test_server_helpers_read_and_reset_over_http(replica: ReplicaServer) -> None:
    with api_client(replica.url) as api:
        api.get(C.path, params=PAGE_1)
    assert replica.stats()["total"] == 1
    replica.reset_stats()
    assert replica.stats()["total"] == 0
