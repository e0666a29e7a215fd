"""Shared helpers for the replica tests: the endpoint table, page walking and error-shape checks.

The table below is written from SPEC.md (§1.1, §2, §3.2, §5.0), not from the replica's own
`contract.py`, so a wrong name or limit in the replica shows up as a failing test.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson

from pncp_pipeline_tests.conftest import TODAY

API = "/api/consulta"
INTERNAL = "/pncp-consulta"

Record = dict[str, Any]
Params = dict[str, Any]


def ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def day_of(value: str) -> date:
    """The calendar day of an API date or timestamp (`2025-07-10` or `2025-07-10T08:00:00`)."""
    return date.fromisoformat(value[:10])


# -- the endpoint table ------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One list endpoint plus a window of the seed-1 dataset that has several pages of data."""

    name: str
    path: str
    window: Params  # date (and modality) parameters of a busy window
    size: int  # page size used to walk it
    max_size: int  # SPEC §1.1
    default_size: int  # SPEC §2 (observed defaults); 10 where the SPEC implies it
    required: tuple[str, ...]
    record_id: Callable[[Record], Hashable]
    in_window: Callable[[Record, Params], bool]
    cnpj_param: str  # SPEC §3.3
    record_cnpj: Callable[[Record], str]
    items_key: str | None = None  # PCA counts nested items
    extra: Params = field(default_factory=dict)

    @property
    def params(self) -> Params:
        return {**self.window, **self.extra}

    def ids(self, page: Record) -> list[Hashable]:
        if self.items_key is None:
            return [self.record_id(r) for r in page["data"]]
        return [self.record_id({**plan, "item": item}) for plan in page["data"] for item in plan[self.items_key]]

    def count(self, page: Record) -> int:
        """Records as the API counts them (SPEC §2.9: PCA counts items, not plans)."""
        if self.items_key is None:
            return len(page["data"])
        return sum(len(plan[self.items_key]) for plan in page["data"])


def _between(field_name: str, start: str, end: str, end_exclusive: bool = False) -> Callable[[Record, Params], bool]:
    def check(record: Record, params: Params) -> bool:
        first = date.fromisoformat(_iso(params[start]))
        last = date.fromisoformat(_iso(params[end])) - timedelta(days=1 if end_exclusive else 0)
        return first <= day_of(record[field_name]) <= last
    return check


def _iso(raw: str) -> str:
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"


def _overlaps(record: Record, params: Params) -> bool:
    first = date.fromisoformat(_iso(params["dataInicial"]))
    last = date.fromisoformat(_iso(params["dataFinal"]))
    return day_of(record["vigenciaInicio"]) <= last and day_of(record["vigenciaFim"]) >= first


def _proposal_open(record: Record, params: Params) -> bool:
    last = date.fromisoformat(_iso(params["dataFinal"]))
    return TODAY <= day_of(record["dataEncerramentoProposta"]) <= last


def _control(record: Record) -> Hashable:
    return record["numeroControlePNCP"]


def _nested_cnpj(record: Record) -> str:
    return record["orgaoEntidade"]["cnpj"]


JULY = {"dataInicial": "20250701", "dataFinal": "20250731"}
PERIOD = ("dataInicial", "dataFinal", "pagina")

CASES: tuple[Case, ...] = (
    Case("contratacoes_publicacao", "/v1/contratacoes/publicacao", JULY, 50, 50, 10,
         (*PERIOD, "codigoModalidadeContratacao"), _control,
         _between("dataPublicacaoPncp", "dataInicial", "dataFinal"), "cnpj", _nested_cnpj,
         extra={"codigoModalidadeContratacao": 8}),
    Case("contratacoes_atualizacao", "/v1/contratacoes/atualizacao",
         {"dataInicial": "20250601", "dataFinal": "20250630"}, 50, 50, 10,
         (*PERIOD, "codigoModalidadeContratacao"), _control,
         _between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"), "cnpj", _nested_cnpj,
         extra={"codigoModalidadeContratacao": 8}),
    Case("contratacoes_proposta", "/v1/contratacoes/proposta", {"dataFinal": ymd(TODAY + timedelta(days=20))},
         10, 50, 10, ("dataFinal", "pagina"), _control, _proposal_open, "cnpj", _nested_cnpj),
    Case("contratos", "/v1/contratos", JULY, 500, 500, 500, PERIOD, _control,
         _between("dataPublicacaoPncp", "dataInicial", "dataFinal"), "cnpjOrgao", _nested_cnpj),
    Case("contratos_atualizacao", "/v1/contratos/atualizacao", JULY, 500, 500, 500, PERIOD, _control,
         _between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"), "cnpjOrgao", _nested_cnpj),
    Case("atas_vigencia", "/v1/atas", {"dataInicial": "20250701", "dataFinal": "20250701"}, 500, 500, 500,
         PERIOD, lambda r: r["numeroControlePNCPAta"], _overlaps, "cnpj", lambda r: r["cnpjOrgao"]),
    Case("atas_atualizacao", "/v1/atas/atualizacao", JULY, 100, 500, 500, PERIOD,
         lambda r: r["numeroControlePNCPAta"], _between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"),
         "cnpj", lambda r: r["cnpjOrgao"]),
    Case("pca_atualizacao", "/v1/pca/atualizacao", {"dataInicio": "20250701", "dataFim": "20250801"}, 500, 500, 10,
         ("dataInicio", "dataFim", "pagina"), lambda r: (r["idPcaPncp"], r["item"]["numeroItem"]),
         _between("dataAtualizacaoGlobalPCA", "dataInicio", "dataFim", end_exclusive=True), "cnpj",
         lambda r: r["orgaoEntidadeCnpj"], items_key="itens"),
    Case("instrumentoscobranca", "/v1/instrumentoscobranca/inclusao", JULY, 50, 100, 10, PERIOD,
         lambda r: (r["cnpj"], r["ano"], r["sequencialContrato"], r["sequencialInstrumentoCobranca"]),
         _between("dataInclusao", "dataInicial", "dataFinal"), "cnpjOrgao", lambda r: r["cnpj"]),
)

CASE_IDS = [c.name for c in CASES]


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


# -- requests and pages ------------------------------------------------------------------------

def api_client(base_url: str, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=base_url + API, timeout=timeout)


def get_page(client: httpx.Client, c: Case, page: int, size: int | None = None, **overrides: Any) -> Record:
    """One page that must be a 200 JSON envelope."""
    params = {**c.params, "pagina": page, **overrides}
    if size is not None:
        params["tamanhoPagina"] = size
    response = client.get(c.path, params=params)
    assert response.status_code == 200, (c.path, params, response.status_code, response.text[:300])
    return orjson.loads(response.content)


def walk(client: httpx.Client, c: Case, size: int | None = None, **overrides: Any) -> list[Record]:
    """Every page of a window, page 1 first, stopping where page 1's envelope says the end is."""
    first = get_page(client, c, 1, size, **overrides)
    pages = [first]
    for number in range(2, first["totalPaginas"] + 1):
        pages.append(get_page(client, c, number, size, **overrides))
    return pages


def assert_envelope(page: Record, number: int, size: int, total: int) -> None:
    """SPEC §3.2, field by field."""
    assert list(page) == ["data", "totalRegistros", "totalPaginas", "numeroPagina", "paginasRestantes", "empty"]
    pages = math.ceil(total / size)
    assert page["totalRegistros"] == total
    assert page["totalPaginas"] == pages
    assert page["numeroPagina"] == number
    assert page["paginasRestantes"] == pages - number
    assert page["empty"] is False
    assert page["data"], "a 200 page must carry records"


# -- error bodies (SPEC §6) ----------------------------------------------------------------------

MILLIS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
MILLIS_BRT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-03:00$")
REASONS = {400: "Bad Request", 404: "Not Found"}


def _recent(timestamp: str) -> None:
    stamp = datetime.fromisoformat(timestamp)
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=5), timestamp


def assert_shape_a(response: httpx.Response, status: int, path: str, message: str | None = None) -> Record:
    """Spring Boot's default body: numeric `status`, UTC timestamp, internal context path."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = orjson.loads(response.content)
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert type(body["status"]) is int and body["status"] == status
    assert body["error"] == REASONS[status]
    assert body["path"] == INTERNAL + path
    assert body["path"].startswith("/pncp-consulta/v1/")
    assert MILLIS_UTC.match(body["timestamp"]), body["timestamp"]
    _recent(body["timestamp"])
    if message is not None:
        assert body["message"] == message
    return body


def assert_shape_b(response: httpx.Response, path: str, message: str | None = None) -> Record:
    """The application's validation body: string `status` "422", -03:00 timestamp."""
    assert response.status_code == 422, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = orjson.loads(response.content)
    assert list(body) == ["path", "message", "error", "timestamp", "status"]
    assert body["status"] == "422"
    assert body["error"] == "422 UNPROCESSABLE_ENTITY"
    assert body["path"] == INTERNAL + path
    assert MILLIS_BRT.match(body["timestamp"]), body["timestamp"]
    _recent(body["timestamp"])
    if message is not None:
        assert body["message"] == message
    return body


def is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True
