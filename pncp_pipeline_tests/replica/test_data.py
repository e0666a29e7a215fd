"""The replica's data: envelopes and paging (SPEC §3.2), the pinned real page, realism, filters, determinism."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import SHARED, TODAY
from pncp_pipeline_tests.replica.support import (
    API, CASE_IDS, CASES, Case, Record, api_client, assert_envelope, assert_shape_a, call, case, day_of, get_page,
    request, walk, ymd,
)

PINNED_FILE = "contratacoes-publicacao_modalidade6-jun-jul2025-page1.json"
MODALITIES_FILE = "api-pncp-v1-modalidades_domain-table-2026.json"
#: SHA-256 of the real captures, from samples/SOURCES.md: the replica must serve these exact bytes.
PINNED_SHA256 = "c57d14eb754ee597b66a55562b122d3d4bf126882bcbcdae3f06e8eab1927f7f"
MODALITIES_SHA256 = "47d3be03f1da1857b9ece3392e0b5f9e9592de947edb6b5610ecb5dee967a2ce"
PINNED = {"dataInicial": "20250624", "dataFinal": "20250724", "codigoModalidadeContratacao": 6}
PINNED_TOTAL = 39853
PATH_PUBLICACAO = "/v1/contratacoes/publicacao"

DATE_ONLY = re.compile(r"^\d{4}-\d\d-\d\d$")
NAIVE_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")  # SPEC §3.1: no timezone designator
CNPJ = re.compile(r"^[0-9A-Z]{14}$")


def shared_sample(name: str) -> Path:
    path = SHARED / "samples" / name
    if not path.exists():
        pytest.skip(f"the shared samples folder is not available here ({path})")
    return path


def all_records(pages: list[Record]) -> list[Record]:
    return [r for page in pages for r in page["data"]]


# -- envelopes and paging ------------------------------------------------------------------------

@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_every_page_of_a_window_is_consistent(api: httpx.Client, c: Case) -> None:
    pages = walk(api, c, c.size)
    total = pages[0]["totalRegistros"]
    assert len(pages) >= 2, "the window should span several pages"
    for number, page in enumerate(pages, start=1):
        assert_envelope(page, number, c.size, total)
        expected = c.size if number < len(pages) else total - (len(pages) - 1) * c.size
        assert c.count(page) == expected, f"page {number}"
    assert sum(c.count(page) for page in pages) == total
    ids = [i for page in pages for i in c.ids(page)]
    assert len(ids) == len(set(ids)) == total, "ids repeat across pages"
    outside = [r for r in all_records(pages) if not c.in_window(r, c.params)]
    assert not outside, f"{len(outside)} records dated outside the window"


@pytest.mark.parametrize("c", [c for c in CASES if c.default_size], ids=lambda c: c.name)
def test_default_page_size(api: httpx.Client, c: Case) -> None:
    assert c.default_size
    page = get_page(api, c, 1)
    total = page["totalRegistros"]
    assert page["totalPaginas"] == math.ceil(total / c.default_size)
    assert c.count(page) == min(total, c.default_size)


@pytest.mark.parametrize("name,field", [("contratacoes_publicacao", "dataPublicacaoPncp"),
                                        ("contratos", "dataPublicacaoPncp"), ("atas_vigencia", "dataPublicacaoPncp")])
def test_records_come_in_ascending_publication_order(api: httpx.Client, name: str, field: str) -> None:
    c = case(name)
    stamps = [r[field] for r in all_records(walk(api, c, c.size))]
    assert stamps == sorted(stamps)


def test_pca_pages_count_items_and_plans_straddle_page_boundaries(api: httpx.Client) -> None:
    c = case("pca_atualizacao")
    pages = walk(api, c, 10, dataInicio="20250702", dataFim="20250703")
    assert len(pages) >= 3
    plans_per_page = [[plan["idPcaPncp"] for plan in page["data"]] for page in pages]
    assert all(c.count(page) == 10 for page in pages[:-1])
    assert any(len(plans) > 1 for plans in plans_per_page), "a page of 10 items can hold several plans"
    straddling = [a[-1] for a, b in zip(plans_per_page, plans_per_page[1:]) if a[-1] == b[0]]
    assert straddling, "SPEC §2.9: a plan can be split across two pages"
    for plan in (p for page in pages for p in page["data"]):
        assert "dataPublicacaoPNCP" in plan and "dataPublicacaoPncp" not in plan  # capital PNCP (SPEC §2.9)
        numbers = [item["numeroItem"] for item in plan["itens"]]
        assert numbers == sorted(set(numbers))


# -- the pinned real page ------------------------------------------------------------------------

def test_pinned_window_page_1_is_the_real_capture_byte_for_byte(api: httpx.Client) -> None:
    served = api.get(PATH_PUBLICACAO, params={**PINNED, "pagina": 1})
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == PINNED_SHA256
    explicit = api.get(PATH_PUBLICACAO, params={**PINNED, "pagina": 1, "tamanhoPagina": 10})
    assert explicit.content == served.content  # 10 is the default, so this is the same request


@pytest.mark.parametrize("name,url_path,params", [
    (PINNED_FILE, API + PATH_PUBLICACAO, {**PINNED, "pagina": 1}),
    (MODALITIES_FILE, "/api/pncp/v1/modalidades", {}),
])
def test_served_samples_equal_the_shared_copies(shared_server: ReplicaServer, name: str, url_path: str,
                                                params: dict[str, object]) -> None:
    sample = shared_sample(name)
    assert call("GET", shared_server.url + url_path, params=params).content == sample.read_bytes()


PINNED_CASE = replace(
    case("contratacoes_publicacao"), name="pinned", window={k: v for k, v in PINNED.items() if k.startswith("data")},
    extra={"codigoModalidadeContratacao": 6},
)


def test_pinned_window_pages_on_consistently_with_its_total(api: httpx.Client) -> None:
    c = PINNED_CASE
    real = orjson.loads(api.get(PATH_PUBLICACAO, params={**PINNED, "pagina": 1}).content)
    assert (real["totalRegistros"], real["totalPaginas"]) == (PINNED_TOTAL, 3986)

    pages = walk(api, c, 50)
    assert len(pages) == math.ceil(PINNED_TOTAL / 50)
    for number, page in enumerate(pages, start=1):
        assert_envelope(page, number, 50, PINNED_TOTAL)
    records = all_records(pages)
    assert records[:10] == real["data"]  # the real records open the window whatever the page size
    assert len({r["numeroControlePNCP"] for r in records}) == len(records) == PINNED_TOTAL
    assert all(c.in_window(r, PINNED) for r in records)
    assert {r["modalidadeId"] for r in records} == {6}

    # Page 2 at the default size is records 10..19 of the same ordering; the last page holds 3.
    assert get_page(api, c, 2, 10)["data"] == records[10:20]
    last = get_page(api, c, 3986, 10)
    assert last["data"] == records[-3:] and last["paginasRestantes"] == 0
    assert_shape_a(api.get(PATH_PUBLICACAO, params={**PINNED, "pagina": 3987}), 400, PATH_PUBLICACAO)


# -- realism -------------------------------------------------------------------------------------

def test_contratacoes_keep_the_real_types(api: httpx.Client) -> None:
    c = case("contratacoes_publicacao")
    generated = get_page(api, c, 1, 50, codigoModalidadeContratacao=6)["data"]
    pinned = orjson.loads(api.get(PATH_PUBLICACAO, params={**PINNED, "pagina": 1}).content)["data"]
    for record in generated + pinned:
        assert type(record["situacaoCompraId"]) is int  # the spec says string; the real API sends an int
        assert isinstance(record["numeroControlePNCP"], str)
        assert re.match(r"^[0-9A-Z]{14}-1-\d{6}/\d{4}$", record["numeroControlePNCP"])
        assert CNPJ.match(record["orgaoEntidade"]["cnpj"])
        assert isinstance(record["unidadeOrgao"]["codigoIbge"], str)
        assert NAIVE_DATETIME.match(record["dataPublicacaoPncp"])
        assert record["modalidadeId"] == 6 and record["modalidadeNome"] == "Pregão - Eletrônico"
        cnpj, ano, seq = record["numeroControlePNCP"][:14], record["anoCompra"], record["sequencialCompra"]
        assert record["numeroControlePNCP"] == f"{cnpj}-1-{seq:06d}/{ano}"  # SPEC §5.0 composition


def test_contratos_ids_and_dates(api: httpx.Client) -> None:
    records = get_page(api, case("contratos"), 1)["data"]
    for record in records:
        assert re.match(r"^[0-9A-Z]{14}-2-\d{6}/\d{4}$", record["numeroControlePNCP"])
        for name in ("dataAssinatura", "dataVigenciaInicio", "dataVigenciaFim"):
            assert DATE_ONLY.match(record[name]), (name, record[name])
        assert NAIVE_DATETIME.match(record["dataPublicacaoPncp"])
    assert "N" in {r["orgaoEntidade"]["poderId"] for r in records}  # undocumented but common (SPEC §4.2)


def test_ata_dates_are_date_only(api: httpx.Client) -> None:
    fields = ("dataAssinatura", "vigenciaInicio", "vigenciaFim", "dataPublicacaoPncp", "dataInclusao",
              "dataAtualizacao", "dataAtualizacaoGlobal", "dataCancelamento")
    for name in ("atas_atualizacao", "atas_vigencia"):
        for record in get_page(api, case(name), 1)["data"]:
            assert re.match(r"^[0-9A-Z]{14}-1-\d{6}/\d{4}-\d{6}$", record["numeroControlePNCPAta"])
            assert "usuario" in record and "orgaoEntidade" not in record  # flat shape (SPEC §5.3)
            for field in fields:
                value = record[field]
                assert value is None or DATE_ONLY.match(value), (field, value)
            assert record["vigenciaInicio"] is not None


def test_instrumentos_keep_json_as_a_string(api: httpx.Client) -> None:
    for record in get_page(api, case("instrumentoscobranca"), 1)["data"]:
        assert isinstance(record["jsonResponseNFe"], str)
        assert isinstance(orjson.loads(record["jsonResponseNFe"]), dict)
        assert isinstance(record["statusResponseNFe"], str)
        assert CNPJ.match(record["cnpj"])


def test_modality_volumes_follow_the_real_shape(api: httpx.Client) -> None:
    c = case("contratacoes_publicacao")
    year = {"dataInicial": "20250101", "dataFinal": "20251231"}
    totals = {}
    for modality in (8, 6, 4, 7, 2, 3):
        response = request(api, c, codigoModalidadeContratacao=modality, **year)
        totals[modality] = response.json()["totalRegistros"] if response.status_code == 200 else 0
    assert totals[2] == totals[3] == 0
    assert totals[8] > totals[6] > totals[4] > totals[7] > 0, totals


def test_nothing_is_dated_after_today(api: httpx.Client) -> None:
    c = case("contratos")
    around = {"dataInicial": ymd(TODAY - timedelta(days=10)), "dataFinal": ymd(TODAY + timedelta(days=10))}
    records = all_records(walk(api, c, 500, **around))
    assert records and max(day_of(r["dataPublicacaoPncp"]) for r in records) <= TODAY
    future = {"dataInicial": ymd(TODAY + timedelta(days=1)), "dataFinal": ymd(TODAY + timedelta(days=30))}
    assert request(api, c, **future).status_code == 204


def test_proposals_close_between_today_and_the_final_date(api: httpx.Client) -> None:
    c = case("contratacoes_proposta")
    totals = []
    for horizon in (0, 10, 30):
        final = ymd(TODAY + timedelta(days=horizon))
        pages = walk(api, c, 50, dataFinal=final)
        records = all_records(pages)
        assert all(c.in_window(r, {"dataFinal": final}) for r in records)
        assert all(day_of(r["dataPublicacaoPncp"]) <= TODAY for r in records), "published in the future"
        totals.append(pages[0]["totalRegistros"])
    assert totals[0] < totals[1] < totals[2], f"a later dataFinal must reach more open proposals: {totals}"


def test_modality_table_is_the_stored_sample(shared_server: ReplicaServer) -> None:
    response = call("GET", f"{shared_server.url}/api/pncp/v1/modalidades")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert hashlib.sha256(response.content).hexdigest() == MODALITIES_SHA256
    rows = response.json()
    assert [row["id"] for row in rows] == list(range(1, 20))
    assert all(row["nome"].endswith(" ") for row in rows if row["id"] >= 16)  # trailing space (SPEC §4.1)
    assert {row["id"]: row["nome"] for row in rows}[8] == "Dispensa"
    # It lives on the integration API, not under the consultation prefix.
    assert call("GET", f"{shared_server.url}{API}/v1/modalidades").status_code == 404


# -- filters and unknown parameters --------------------------------------------------------------

@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_the_documented_cnpj_filter_filters(api: httpx.Client, c: Case) -> None:
    unfiltered = get_page(api, c, 1, c.size)
    records = unfiltered["data"]
    cnpj = c.record_cnpj(records[len(records) // 2])
    pages = walk(api, c, 10, **{c.cnpj_param: cnpj})
    total = pages[0]["totalRegistros"]
    assert 0 < total < unfiltered["totalRegistros"]
    for number, page in enumerate(pages, start=1):
        assert_envelope(page, number, 10, total)
    assert sum(c.count(page) for page in pages) == total
    assert {c.record_cnpj(r) for r in all_records(pages)} == {cnpj}


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_unknown_and_misspelled_parameters_are_ignored(api: httpx.Client, c: Case) -> None:
    cnpj = c.record_cnpj(get_page(api, c, 1)["data"][0])
    wrong_name = "cnpj" if c.cnpj_param == "cnpjOrgao" else "cnpjOrgao"  # SPEC §3.3
    plain = request(api, c)
    for extra in ({wrong_name: cnpj}, {"foo": "bar"}, {"usuarioId" if c.cnpj_param == "cnpj" else "idUsuario": 9}):
        response = request(api, c, **extra)
        assert response.status_code == 200
        assert response.content == plain.content, extra


# -- determinism ---------------------------------------------------------------------------------

PROBES: list[tuple[str, dict[str, object]]] = [
    (c.path, {**c.params, "pagina": page, "tamanhoPagina": c.size}) for c in CASES for page in (1, 2)
]


def fetch_all(server: ReplicaServer) -> list[bytes]:
    with api_client(server.url) as client:
        return [client.get(path, params=params).content for path, params in PROBES]


def test_same_seed_gives_identical_bytes_across_restarts(replica_factory: Callable[..., ReplicaServer]) -> None:
    first = replica_factory(seed=7)
    before = fetch_all(first)
    first.stop()
    again = fetch_all(replica_factory(seed=7))
    assert all(before), "every probe should return a body"
    assert again == before


def test_a_different_seed_gives_different_data(replica_factory: Callable[..., ReplicaServer]) -> None:
    one, other = fetch_all(replica_factory(seed=7)), fetch_all(replica_factory(seed=8))
    same = [path for (path, _), a, b in zip(PROBES, one, other) if a == b]
    assert not same, f"two seeds gave the same bytes for {same}"


def test_scale_multiplies_volume(replica_factory: Callable[..., ReplicaServer]) -> None:
    c = case("contratos")
    totals = []
    for scale in (0.5, 1.0, 2.0):
        with api_client(replica_factory(scale=scale).url) as client:
            totals.append(get_page(client, c, 1)["totalRegistros"])
    assert 1.6 < totals[1] / totals[0] < 2.4 and 1.6 < totals[2] / totals[1] < 2.4, totals
