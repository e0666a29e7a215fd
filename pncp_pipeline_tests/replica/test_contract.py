"""The replica's error answers and empty signals, each with the status code and body shape of SPEC §6."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import orjson
import pytest

from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import TODAY
from pncp_pipeline_tests.replica.support import (
    CASE_IDS, CASES, Case, assert_shape_a, assert_shape_b, call, case, end_param, get_page, request, start_param,
    ymd,
)

#: Java types Spring names in "Required request parameter ... type X" (SPEC §2.1 quotes the Long one).
JAVA_TYPE = {"pagina": "Integer", "codigoModalidadeContratacao": "Long"}

#: Real error bodies recorded from the live API on 2025-07-18
#: (samples/errors_multi-endpoint-probe-2025-07-18.json); the replica must match all but the timestamp.
REAL_ERRORS = {
    "missing_modality": (
        "/v1/contratacoes/publicacao",
        {"tamanhoPagina": 10, "pagina": 1, "dataInicial": "20250618", "dataFinal": "20250618"},
        400,
        '{"timestamp":"2025-07-18T09:56:26.826+00:00","status":400,"error":"Bad Request","message":'
        '"Required request parameter \'codigoModalidadeContratacao\' for method parameter type Long is not '
        'present","path":"/pncp-consulta/v1/contratacoes/publicacao"}',
    ),
    "missing_modality_atualizacao": (
        "/v1/contratacoes/atualizacao",
        {"tamanhoPagina": 10, "pagina": 1, "dataInicial": "20250618", "dataFinal": "20250618"},
        400,
        '{"timestamp":"2025-07-18T09:56:28.297+00:00","status":400,"error":"Bad Request","message":'
        '"Required request parameter \'codigoModalidadeContratacao\' for method parameter type Long is not '
        'present","path":"/pncp-consulta/v1/contratacoes/atualizacao"}',
    ),
    "proposal_in_the_past": (
        "/v1/contratacoes/proposta",
        {"tamanhoPagina": 10, "pagina": 1, "dataFinal": ymd(TODAY - timedelta(days=1))},
        422,
        '{"path":"/pncp-consulta/v1/contratacoes/proposta","message":"Data Final inv\u00e1lida. Data Final deve '
        'ser maior ou igual a data atual","error":"422 UNPROCESSABLE_ENTITY","timestamp":'
        '"2025-07-18T06:56:32.688-03:00","status":"422"}',
    ),
}


#: Endpoints with a start and an end date (proposta has only dataFinal).
WINDOWED = [c for c in CASES if c.name != "contratacoes_proposta"]


# -- 400: missing or malformed parameters (shape A) ---------------------------------------------

@pytest.mark.parametrize("c,param", [(c, p) for c in CASES for p in c.required],
                         ids=[f"{c.name}-{p}" for c in CASES for p in c.required])
def test_missing_required_parameter_is_400_shape_a(api: httpx.Client, c: Case, param: str) -> None:
    response = request(api, c, **{param: None})
    java = JAVA_TYPE.get(param, "String")
    assert_shape_a(response, 400, c.path,
                   f"Required request parameter '{param}' for method parameter type {java} is not present")


@pytest.mark.parametrize("name", sorted(REAL_ERRORS))
def test_error_bodies_match_the_real_ones_but_for_the_timestamp(api: httpx.Client, name: str) -> None:
    path, params, status, real_text = REAL_ERRORS[name]
    response = api.get(path, params=params)
    assert response.status_code == status
    real, ours = orjson.loads(real_text), orjson.loads(response.content)
    assert list(ours) == list(real)  # same key order, as Spring and the app serialize them
    assert {k: v for k, v in ours.items() if k != "timestamp"} == {k: v for k, v in real.items() if k != "timestamp"}


@pytest.mark.parametrize("param,value,java", [
    ("pagina", "um", "Integer"), ("pagina", "1.5", "Integer"),
    ("tamanhoPagina", "dez", "Integer"), ("codigoModalidadeContratacao", "oito", "Long"),
])
def test_non_integer_parameter_is_400_shape_a(api: httpx.Client, param: str, value: str, java: str) -> None:
    c = case("contratacoes_publicacao")
    body = assert_shape_a(request(api, c, **{param: value}), 400, c.path)
    assert f"'{param}'" in body["message"]
    assert f"java.lang.{java}" in body["message"]
    assert f'"{value}"' in body["message"]


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_page_size_bounds_are_per_endpoint(api: httpx.Client, c: Case) -> None:
    for bad in (9, c.max_size + 1, 0, -10):
        assert_shape_a(request(api, c, tamanhoPagina=bad), 400, c.path, "Tamanho de página inválido")
    for good in (10, c.max_size):
        assert request(api, c, tamanhoPagina=good).status_code == 200, good


@pytest.mark.parametrize("c", CASES, ids=CASE_IDS)
def test_page_past_the_end_is_400_and_the_last_page_is_not(api: httpx.Client, c: Case) -> None:
    last = get_page(api, c, 1, c.size)["totalPaginas"]
    assert last >= 2, "the busy window should have several pages"
    assert request(api, c, tamanhoPagina=c.size, pagina=last).status_code == 200
    # SPEC §6 reports the 400 but not its message, so only the shape is checked.
    assert_shape_a(request(api, c, tamanhoPagina=c.size, pagina=last + 1), 400, c.path)


@pytest.mark.parametrize("page", [0, -1])
def test_page_below_one_is_400(api: httpx.Client, page: int) -> None:
    c = case("contratos")
    assert_shape_a(request(api, c, pagina=page), 400, c.path)


# -- 422: business validation (shape B) ---------------------------------------------------------

@pytest.mark.parametrize("raw", ["2025-07-01", "01/07/2025", "01-07-2025", "2025071", "20250732", "2025O701"])
@pytest.mark.parametrize("c", [case("contratacoes_publicacao"), case("contratos"), case("atas_atualizacao"),
                               case("instrumentoscobranca")], ids=lambda c: c.name)
def test_bad_date_format_is_422_shape_b(api: httpx.Client, c: Case, raw: str) -> None:
    assert_shape_b(request(api, c, dataInicial=raw), c.path, "Data Inicial inválida")
    assert_shape_b(request(api, c, dataFinal=raw), c.path, "Data Final inválida")


def test_bad_pca_start_date_and_start_before_april_2021_are_422(api: httpx.Client) -> None:
    c = case("pca_atualizacao")
    message = "Data inicial inválida ou anterior a 20210401"
    for start, end in (("2025-07-01", "20250801"), ("20250732", "20250801"), ("20210331", "20210501"),
                       ("20200101", "20200201")):
        assert_shape_b(request(api, c, dataInicio=start, dataFim=end), c.path, message)
    assert_shape_b(request(api, c, dataFim="2025-08-01"), c.path, "Data Final inválida")
    first_allowed = request(api, c, dataInicio="20210401", dataFim="20210402")
    assert first_allowed.status_code == 200


@pytest.mark.parametrize("c", WINDOWED, ids=lambda c: c.name)
def test_start_after_end_is_422(api: httpx.Client, c: Case) -> None:
    response = request(api, c, **{start_param(c): "20250702", end_param(c): "20250701"})
    assert_shape_b(response, c.path, "Data Inicial deve ser anterior ou igual à Data Final")


@pytest.mark.parametrize("c", WINDOWED, ids=lambda c: c.name)
def test_window_over_365_days_is_422(api: httpx.Client, c: Case) -> None:
    too_wide = request(api, c, **{start_param(c): "20240101", end_param(c): "20250102"})
    assert_shape_b(too_wide, c.path, "Período inicial e final maior que 365 dias.")
    # 364 days is what careful extractors use (SPEC §3.1); it must pass validation.
    assert request(api, c, **{start_param(c): "20240701", end_param(c): "20250630"}).status_code in (200, 204)


def test_the_manuals_365_day_example_window_is_accepted(api: httpx.Client) -> None:
    # Manual v1.0 shows /v1/atas with 20231024..20241023 (SPEC §3.1).
    c = case("atas_vigencia")
    assert request(api, c, dataInicial="20231024", dataFinal="20241023", tamanhoPagina=10).status_code == 200


@pytest.mark.parametrize("code", [0, 20, 99, -1])
def test_invalid_modality_is_422(api: httpx.Client, code: int) -> None:
    c = case("contratacoes_publicacao")
    assert_shape_b(request(api, c, codigoModalidadeContratacao=code), c.path,
                   "Código da modalidade de contratação inválido.")


def test_every_code_of_the_modality_table_is_accepted(api: httpx.Client, replica_modalities: list[int]) -> None:
    c = case("contratacoes_publicacao")
    for code in replica_modalities:
        assert request(api, c, codigoModalidadeContratacao=code).status_code in (200, 204), code


@pytest.fixture
def replica_modalities(shared_server: ReplicaServer) -> list[int]:
    return [row["id"] for row in call("GET", f"{shared_server.url}/api/pncp/v1/modalidades").json()]


def test_proposal_with_final_date_in_the_past_is_422_and_today_is_fine(api: httpx.Client) -> None:
    c = case("contratacoes_proposta")
    for past in (TODAY - timedelta(days=1), date(2025, 7, 17)):
        assert_shape_b(request(api, c, dataFinal=ymd(past)), c.path,
                       "Data Final inválida. Data Final deve ser maior ou igual a data atual")
    assert request(api, c, dataFinal=ymd(TODAY)).status_code == 200
    assert_shape_b(request(api, c, dataFinal="2026-12-01"), c.path, "Data Final inválida")


def test_pca_unit_without_cnpj_is_422(api: httpx.Client) -> None:
    c = case("pca_atualizacao")
    assert_shape_b(request(api, c, codigoUnidade="1"), c.path, "Obrigatório que o CNPJ do órgão seja informado.")


def test_unknown_path_is_404(api: httpx.Client) -> None:
    response = api.get("/v1/orgaos", params={"pagina": 1})
    assert response.status_code == 404
    assert response.json()["status"] == 404


# -- the three empty signals --------------------------------------------------------------------

@pytest.mark.parametrize("modality", [2, 3])
def test_modalities_without_data_answer_204_with_no_body(api: httpx.Client, modality: int) -> None:
    c = case("contratacoes_publicacao")
    for month in range(1, 13):
        window = {"dataInicial": f"2025{month:02d}01", "dataFinal": f"2025{month:02d}28"}
        response = request(api, c, codigoModalidadeContratacao=modality, **window)
        assert response.status_code == 204, (month, response.status_code)
        assert response.content == b""
        assert "content-type" not in response.headers
    # The same windows are not empty for a busy modality: 204 is about modality 2/3, not the window.
    assert request(api, c, codigoModalidadeContratacao=8).status_code == 200


def test_pca_same_day_window_is_200_with_empty_body(api: httpx.Client) -> None:
    c = case("pca_atualizacao")
    one_day = request(api, c, dataInicio="20250701", dataFim="20250702")
    assert one_day.status_code == 200 and one_day.json()["totalRegistros"] > 0
    same_day = request(api, c, dataInicio="20250701", dataFim="20250701")
    assert same_day.status_code == 200
    assert same_day.content == b""


def _empty_instrument_day(api: httpx.Client) -> tuple[str, list[tuple[str, int]]]:
    """Scan one-day windows (Sundays of mid-2025, then the day before PNCP went live, then the future)."""
    c = case("instrumentoscobranca")
    sundays = [date(2025, 6, 1) + timedelta(weeks=w) for w in range(8)]
    candidates = [*sundays, date(2020, 12, 31), TODAY + timedelta(days=30)]
    seen: list[tuple[str, int]] = []
    for day in candidates:
        response = request(api, c, dataInicial=ymd(day), dataFinal=ymd(day))
        seen.append((ymd(day), response.status_code))
        if response.status_code == 404:
            return ymd(day), seen
    raise AssertionError(f"no one-day window without instruments among {seen}")


def test_instrumentos_without_data_is_404_with_message(api: httpx.Client) -> None:
    c = case("instrumentoscobranca")
    day, seen = _empty_instrument_day(api)
    response = request(api, c, dataInicial=day, dataFinal=day)
    assert_shape_a(response, 404, c.path, "Nenhum instrumento de Cobrança encontrado.")
    # Every day scanned before it was a normal page, never another kind of error.
    assert all(status == 200 for _, status in seen[:-1]), seen
