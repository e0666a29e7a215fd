"""Fault switches: each fault reaches the wire as the real API's failure does, at its configured rate,
reproducibly, and can be changed at runtime through POST /_replica/faults."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pncp_pipeline.replica.faults import KINDS
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.replica.support import API, Params, api_client, call, case, is_json, plain_client

Request = tuple[str, Params]
PCA = case("pca_atualizacao")
#: 241 pages of 10 items exist in this window: every one of these is a distinct, successful request.
DISTINCT: list[Request] = [(PCA.path, {**PCA.params, "pagina": n, "tamanhoPagina": 10}) for n in range(1, 201)]
GATEWAY = {500, 502, 503, 504}


def classify(response: httpx.Response) -> str:
    """Name the fault a response shows, from what a client sees on the wire."""
    content_type = response.headers.get("content-type", "")
    if response.status_code in GATEWAY:
        return "fail_5xx"
    if response.status_code == 429:
        return "fail_429"
    if response.status_code == 200 and content_type.startswith("text/html"):
        return "fail_html"
    if response.status_code == 200 and not is_json(response.content):
        return "fail_truncate"
    if response.status_code == 200:
        asked = int(response.url.params["pagina"])
        return "ok" if response.json()["numeroPagina"] == asked else "fail_wrong_page"
    return f"unexpected {response.status_code}"


def _outcome(client: httpx.Client, request: Request) -> str:
    try:
        response = client.get(request[0], params=request[1])
    except httpx.ReadTimeout:
        return "fail_stall"
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return "fail_reset"
    return classify(response)


def outcomes(server: ReplicaServer, requests: list[Request], timeout: float = 10.0, workers: int = 8) -> list[str]:
    """The outcome of each request, in request order, sent by `workers` threads sharing one client.

    Threads and a blocking client rather than asyncio: the replica runs in this process, and two
    busy event loops fighting over the GIL make every request several times slower.
    """
    limits = httpx.Limits(max_connections=workers)
    with plain_client(server.url + API, httpx.Timeout(timeout, pool=None), limits=limits) as client:
        if workers == 1:
            return [_outcome(client, r) for r in requests]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda r: _outcome(client, r), requests))


def stats(server: ReplicaServer) -> dict[str, Any]:
    return call("GET", f"{server.url}/_replica/stats").json()


def fault_settings(kind: str, p: float) -> dict[str, float]:
    """One switch at `p`; a stall short enough to keep the test fast but far above the client timeout."""
    return {kind: p, "stall_s": 1.0} if kind == "fail_stall" else {kind: p}


def timeout_for(kind: str) -> float:
    return 0.4 if kind == "fail_stall" else 10.0


def workers_for(kind: str) -> int:
    """Stalls hold a thread until the client gives up, so they get many threads."""
    return 50 if kind == "fail_stall" else 8


# -- rates ---------------------------------------------------------------------------------------

def test_no_faults_when_every_switch_is_zero(replica: ReplicaServer) -> None:
    assert Counter(outcomes(replica, DISTINCT)) == {"ok": len(DISTINCT)}


@pytest.mark.parametrize("kind", KINDS)
def test_fault_fires_at_roughly_its_rate(replica_factory: Callable[..., ReplicaServer], kind: str) -> None:
    server = replica_factory(**fault_settings(kind, 0.5))
    seen = Counter(outcomes(server, DISTINCT, timeout_for(kind), workers_for(kind)))
    assert set(seen) == {"ok", kind}, seen  # no other fault leaks in
    assert 0.35 <= seen[kind] / len(DISTINCT) <= 0.65, seen
    # The replica's own count agrees with what the wire showed.
    assert stats(server)["faults"] == {kind: seen[kind]}


@pytest.mark.parametrize("kind", KINDS)
def test_fault_at_probability_one_hits_every_request(replica_factory: Callable[..., ReplicaServer], kind: str) -> None:
    server = replica_factory(**fault_settings(kind, 1.0))
    assert Counter(outcomes(server, DISTINCT[:20], timeout_for(kind), workers_for(kind))) == {kind: 20}


# -- what each fault looks like ------------------------------------------------------------------

def test_5xx_uses_the_gateway_codes(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_5xx=1.0)
    with api_client(server.url) as client:
        statuses = {client.get(path, params=params).status_code for path, params in DISTINCT[:40]}
    assert statuses <= GATEWAY and len(statuses) >= 2, statuses


def test_429_is_an_html_page_without_retry_after(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_429=1.0)
    with api_client(server.url) as client:
        response = client.get(DISTINCT[0][0], params=DISTINCT[0][1])
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert "retry-after" not in response.headers
    assert "Limite de requisições excedido" in response.text


def test_html_fault_is_a_200_html_page(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_html=1.0)
    with api_client(server.url) as client:
        response = client.get(DISTINCT[0][0], params=DISTINCT[0][1])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.lstrip().startswith("<") and not is_json(response.content)


def test_truncated_body_is_a_prefix_of_the_real_page(replica_factory: Callable[..., ReplicaServer]) -> None:
    faulty, clean = replica_factory(seed=3, fail_truncate=1.0), replica_factory(seed=3)
    path, params = DISTINCT[0]
    with api_client(faulty.url) as a, api_client(clean.url) as b:
        cut, whole = a.get(path, params=params), b.get(path, params=params)
    assert cut.status_code == 200 and whole.status_code == 200
    assert int(cut.headers["content-length"]) == len(cut.content)  # a well-formed HTTP message
    assert 0 < len(cut.content) < len(whole.content)
    assert whole.content.startswith(cut.content)
    assert not is_json(cut.content)


def test_stall_trips_a_short_client_timeout_and_then_answers(replica_factory: Callable[..., ReplicaServer]) -> None:
    faulty, clean = replica_factory(seed=3, fail_stall=1.0, stall_s=0.5), replica_factory(seed=3)
    path, params = DISTINCT[0]
    with api_client(faulty.url, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.get(path, params=params)
    with api_client(faulty.url) as patient, api_client(clean.url) as reference:
        started = time.monotonic()
        late = patient.get(path, params={**params, "tamanhoPagina": 11})
        waited = time.monotonic() - started
        assert late.status_code == 200 and waited >= 0.5
        assert late.content == reference.get(path, params={**params, "tamanhoPagina": 11}).content


def test_reset_drops_the_connection_mid_body(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_reset=1.0)
    with api_client(server.url) as client:
        for path, params in DISTINCT[:3]:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                client.get(path, params=params)


def test_faults_apply_to_error_answers_too_but_never_to_control_or_domain_paths(
        replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_5xx=1.0)
    with api_client(server.url) as client:
        assert client.get(PCA.path, params={"pagina": 1}).status_code in GATEWAY  # would be a 400
    assert call("GET", f"{server.url}/api/pncp/v1/modalidades").status_code == 200
    assert call("GET", f"{server.url}/_replica/faults").json()["fail_5xx"] == 1.0
    assert stats(server)["total"] == 2


# -- reproducibility -----------------------------------------------------------------------------

MIXED = {"fail_5xx": 0.1, "fail_429": 0.1, "fail_html": 0.1, "fail_truncate": 0.1, "fail_reset": 0.1}
#: 40 distinct requests, each asked three times in a row, as a client retrying would.
RETRIED: list[Request] = [r for r in DISTINCT[:40] for _ in range(3)]


def test_same_seed_and_sequence_give_the_same_faults(replica_factory: Callable[..., ReplicaServer]) -> None:
    first = outcomes(replica_factory(seed=5, **MIXED), RETRIED, workers=1)
    second = outcomes(replica_factory(seed=5, **MIXED), RETRIED, workers=1)
    other_seed = outcomes(replica_factory(seed=6, **MIXED), RETRIED, workers=1)
    assert first == second
    assert first != other_seed
    assert len(set(first)) >= 4, Counter(first)  # several kinds fired, and successes too


def test_faults_do_not_depend_on_interleaving(replica_factory: Callable[..., ReplicaServer]) -> None:
    in_order = outcomes(replica_factory(seed=5, **MIXED), DISTINCT, workers=1)
    reversed_concurrent = outcomes(replica_factory(seed=5, **MIXED), DISTINCT[::-1], workers=16)[::-1]
    assert in_order == reversed_concurrent


def test_a_retried_request_can_succeed(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(fail_5xx=0.5)
    seen = outcomes(server, [DISTINCT[0]] * 30, workers=1)
    assert set(seen) == {"ok", "fail_5xx"}, "each attempt draws its own fate"


# -- runtime control -----------------------------------------------------------------------------

def faults_url(server: ReplicaServer) -> str:
    return f"{server.url}/_replica/faults"


def test_faults_can_be_switched_at_runtime(replica: ReplicaServer) -> None:
    initial = call("GET", faults_url(replica)).json()
    assert initial == {**{kind: 0.0 for kind in KINDS}, "stall_s": 30.0, "unstable_order": 0.0,
                       "burst_429_every": 0, "burst_429_length": 0, "drift_records": 0, "drift_after": 0,
                       "drift_max_steps": 1}
    changed = call("POST", faults_url(replica), json={"fail_429": 1})
    assert changed.status_code == 200 and changed.json()["fail_429"] == 1.0
    assert replica.replica.faults.fail_429 == 1.0
    assert outcomes(replica, DISTINCT[:5]) == ["fail_429"] * 5
    call("POST", faults_url(replica), json={"fail_429": 0}).raise_for_status()
    assert outcomes(replica, DISTINCT[:5]) == ["ok"] * 5


@pytest.mark.parametrize("body", [
    b'{"fail_teapot": 0.5}', b'{"fail_5xx": 1.5}', b'{"fail_html": -0.1}', b'{"stall_s": -1}',
    b'{"fail_5xx": "often"}', b'{"fail_5xx": 0.5, "fail_429": 2}', b"not json", b"[1, 2]", b"3",
])
def test_bad_fault_settings_are_rejected_and_change_nothing(replica: ReplicaServer, body: bytes) -> None:
    before = call("GET", faults_url(replica)).json()
    response = call("POST", faults_url(replica), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]
    assert call("GET", faults_url(replica)).json() == before


def test_in_process_switches_take_effect_too(replica: ReplicaServer) -> None:
    replica.replica.faults.fail_html = 1.0
    assert outcomes(replica, DISTINCT[:3]) == ["fail_html"] * 3


def test_latency_delays_every_answer(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(latency_ms=150)
    with api_client(server.url) as client:
        started = time.monotonic()
        assert client.get(DISTINCT[0][0], params=DISTINCT[0][1]).status_code == 200
        assert time.monotonic() - started >= 0.15


# -- data that contradicts a client's plan -------------------------------------------------------

def page(server: ReplicaServer, n: int, size: int = 10) -> dict[str, Any]:
    return call("GET", server.url + "/api/consulta" + PCA.path, params={**PCA.params, "pagina": n, "tamanhoPagina": size}).json()


def test_drift_moves_the_totals_after_some_requests_and_then_holds(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(drift_records=25, drift_after=3, drift_max_steps=1)
    first = [page(server, 1)["totalRegistros"] for _ in range(3)]
    later = [page(server, 2)["totalRegistros"] for _ in range(3)]
    assert len(set(first)) == 1
    assert later == [first[0] + 25] * 3  # one step only, then stable: the client can converge
    last = page(server, -(-(first[0] + 25) // 10))
    items = [(p["idPcaPncp"], i["numeroItem"]) for p in last["data"] for i in p["itens"]]
    assert len(items) == len(set(items))


def test_negative_drift_removes_records_from_the_end(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(drift_records=-15, drift_after=1)
    before = page(server, 1)["totalRegistros"]
    assert page(server, 1)["totalRegistros"] == before - 15


def test_unstable_order_repeats_the_previous_pages_last_record() -> None:
    from pncp_pipeline.replica.server import ReplicaServer as Server
    from pncp_pipeline.replica.app import Replica
    from pncp_pipeline.replica.faults import Faults
    from pncp_pipeline_tests.conftest import TODAY

    params = {"dataInicial": "20250701", "dataFinal": "20250731", "tamanhoPagina": 10}
    with Server(Replica(today=TODAY, faults=Faults(unstable_order=1.0))) as server:
        pages = [call("GET", server.url + "/api/consulta/v1/contratos/atualizacao", params=params | {"pagina": n}).json()
                 for n in (1, 2)]
    ids = [[r["numeroControlePNCP"] for r in p["data"]] for p in pages]
    assert ids[1][0] == ids[0][-1]  # the duplicate at the boundary
    assert pages[0]["totalRegistros"] == pages[1]["totalRegistros"]


def test_429_bursts_come_in_runs(replica_factory: Callable[..., ReplicaServer]) -> None:
    server = replica_factory(burst_429_every=10, burst_429_length=4)
    seen = outcomes(server, DISTINCT[:20], workers=1)
    assert seen == (["fail_429"] * 4 + ["ok"] * 6) * 2
    assert stats(server)["faults"] == {"burst_429": 8}
