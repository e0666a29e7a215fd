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
    window: Params  # the date parameters of a busy window
    size: int  # page size used to walk it (several pages)
    max_size: int  # SPEC §1.1
    default_size: int | None  # SPEC §2 observed defaults (PCA: 2,827 records in 283 pages); None = not documented
    required: tuple[str, ...]  # SPEC §2
    record_id: Callable[[Record], Hashable]  # SPEC §5.0
    in_window: Callable[[Record, Params], bool]  # what the date filter selects (SPEC §1.1)
    cnpj_param: str  # the organ filter's name on this endpoint (SPEC §3.3)
    record_cnpj: Callable[[Record], str]
    items_key: str | None = None  # PCA pages and totals count nested items
    extra: Params = field(default_factory=dict)  # other parameters of the busy window (modality)

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
MODALITY_8 = {"codigoModalidadeContratacao": 8}

CASES: tuple[Case, ...] = (
    Case(name="contratacoes_publicacao", path="/v1/contratacoes/publicacao", window=JULY, extra=MODALITY_8,
         size=50, max_size=50, default_size=10, required=(*PERIOD, "codigoModalidadeContratacao"),
         record_id=_control, in_window=_between("dataPublicacaoPncp", "dataInicial", "dataFinal"),
         cnpj_param="cnpj", record_cnpj=_nested_cnpj),
    Case(name="contratacoes_atualizacao", path="/v1/contratacoes/atualizacao",
         window={"dataInicial": "20250601", "dataFinal": "20250630"}, extra=MODALITY_8,
         size=50, max_size=50, default_size=10, required=(*PERIOD, "codigoModalidadeContratacao"),
         record_id=_control, in_window=_between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"),
         cnpj_param="cnpj", record_cnpj=_nested_cnpj),
    Case(name="contratacoes_proposta", path="/v1/contratacoes/proposta",
         window={"dataFinal": ymd(TODAY + timedelta(days=20))},
         size=10, max_size=50, default_size=None, required=("dataFinal", "pagina"),
         record_id=_control, in_window=_proposal_open, cnpj_param="cnpj", record_cnpj=_nested_cnpj),
    Case(name="contratos", path="/v1/contratos", window=JULY,
         size=500, max_size=500, default_size=500, required=PERIOD,
         record_id=_control, in_window=_between("dataPublicacaoPncp", "dataInicial", "dataFinal"),
         cnpj_param="cnpjOrgao", record_cnpj=_nested_cnpj),
    Case(name="contratos_atualizacao", path="/v1/contratos/atualizacao", window=JULY,
         size=500, max_size=500, default_size=500, required=PERIOD,
         record_id=_control, in_window=_between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"),
         cnpj_param="cnpjOrgao", record_cnpj=_nested_cnpj),
    Case(name="atas_vigencia", path="/v1/atas", window={"dataInicial": "20250701", "dataFinal": "20250701"},
         size=500, max_size=500, default_size=500, required=PERIOD,
         record_id=lambda r: r["numeroControlePNCPAta"], in_window=_overlaps,
         cnpj_param="cnpj", record_cnpj=lambda r: r["cnpjOrgao"]),
    Case(name="atas_atualizacao", path="/v1/atas/atualizacao", window=JULY,
         size=100, max_size=500, default_size=500, required=PERIOD,
         record_id=lambda r: r["numeroControlePNCPAta"],
         in_window=_between("dataAtualizacaoGlobal", "dataInicial", "dataFinal"),
         cnpj_param="cnpj", record_cnpj=lambda r: r["cnpjOrgao"]),
    Case(name="pca_atualizacao", path="/v1/pca/atualizacao", window={"dataInicio": "20250701", "dataFim": "20250801"},
         size=500, max_size=500, default_size=10, required=("dataInicio", "dataFim", "pagina"),
         record_id=lambda r: (r["idPcaPncp"], r["item"]["numeroItem"]),
         in_window=_between("dataAtualizacaoGlobalPCA", "dataInicio", "dataFim", end_exclusive=True),
         cnpj_param="cnpj", record_cnpj=lambda r: r["orgaoEntidadeCnpj"], items_key="itens"),
    Case(name="instrumentoscobranca", path="/v1/instrumentoscobranca/inclusao", window=JULY,
         size=50, max_size=100, default_size=None, required=PERIOD,
         record_id=lambda r: (r["cnpj"], r["ano"], r["sequencialContrato"], r["sequencialInstrumentoCobranca"]),
         in_window=_between("dataInclusao", "dataInicial", "dataFinal"),
         cnpj_param="cnpjOrgao", record_cnpj=lambda r: r["cnpj"]),
)

CASE_IDS = [c.name for c in CASES]


def case(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


# -- requests and pages ------------------------------------------------------------------------

def plain_client(base_url: str = "", timeout: float | httpx.Timeout = 10.0, **kwargs: Any) -> httpx.Client:
    """A client for the replica's plain-HTTP port.

    `verify=False` only skips loading the CA bundle (about 50 ms per client); no TLS is ever spoken.
    """
    return httpx.Client(base_url=base_url, timeout=timeout, verify=False, **kwargs)


def api_client(base_url: str, timeout: float = 10.0) -> httpx.Client:
    """A client whose base URL is the consultation API of the replica at `base_url`."""
    return plain_client(base_url + API, timeout)


def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request to an absolute URL (control and domain-table endpoints)."""
    with plain_client() as client:
        return client.request(method, url, **kwargs)


def get_page(client: httpx.Client, c: Case, page: int, size: int | None = None, **overrides: Any) -> Record:
    """One page that must be a 200 JSON envelope."""
    params = {**c.params, "pagina": page, **overrides}
    if size is not None:
        params["tamanhoPagina"] = size
    response = client.get(c.path, params=params)
    assert response.status_code == 200, (c.path, params, response.status_code, response.text[:300])
    return orjson.loads(response.content)


def request(client: httpx.Client, c: Case, **overrides: Any) -> httpx.Response:
    """Page 1 of the busy window of `c`, with some parameters replaced (a None value removes one)."""
    params = {**c.params, "pagina": 1, **overrides}
    return client.get(c.path, params={k: v for k, v in params.items() if v is not None})


def start_param(c: Case) -> str:
    return "dataInicio" if "dataInicio" in c.window else "dataInicial"


def end_param(c: Case) -> str:
    return "dataFim" if "dataFim" in c.window else "dataFinal"


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
