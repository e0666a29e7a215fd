"""The declarative endpoint registry: everything endpoint-specific lives in one entry here.

Adding an endpoint is one `Endpoint(...)` below (plus replica data); no phase or SQL statement
knows an endpoint by name. Facts come from SPEC.md: parameter names differ between endpoints,
page-size maxima differ (50/100/500), PCA's `dataFim` is exclusive, and each endpoint has its own
way of saying "nothing here".
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import orjson

from pncp_pipeline.errors import UsageError

#: Codes of the modality domain table (/api/pncp/v1/modalidades, Oct-2026: 19 rows).
#: Shipped so planning works offline; refreshed from the API at plan time when it answers.
DEFAULT_MODALITIES: tuple[int, ...] = tuple(range(1, 20))

#: The modality domain table lives in the integration API, not the consultation API.
MODALITIES_PATH = "/api/pncp/v1/modalidades"

#: PNCP went live in 2021; nothing is published before this month.
EARLIEST_MONTH = date(2021, 1, 1)

#: Every list endpoint refuses pages smaller than this (SPEC §1.1).
MIN_PAGE_SIZE = 10


class EmptySignal(enum.Enum):
    """How an endpoint answers a window with no records (besides the documented 204)."""

    NO_CONTENT = "204"
    EMPTY_BODY_200 = "200 with an empty body"
    NOT_FOUND_404 = "404 with a message"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    start_param: str
    end_param: str
    page_size: int  # the largest the API accepts: the fewest requests for a month
    #: JSON paths of a record's own identity (SPEC §5.0); with `items_key`, the first path is read
    #: on the plan and the others on each nested item.
    record_key: tuple[str, ...]
    end_exclusive: bool = False
    per_modality: bool = False
    empty_signal: EmptySignal = EmptySignal.NO_CONTENT
    items_key: str | None = None
    first_month: date = EARLIEST_MONTH
    enabled: bool = True
    description: str = ""

    def window(self, month: date) -> tuple[date, date]:
        """The request window covering one calendar month, honouring an exclusive end date."""
        last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        return month, (last + timedelta(days=1) if self.end_exclusive else last)

    def with_page_size(self, size: int) -> "Endpoint":
        """A smaller page size from configuration; above the API's maximum every request would be a 400."""
        if not MIN_PAGE_SIZE <= size <= self.page_size:
            raise UsageError(
                f"page size {size} for {self.name} is outside what the API accepts "
                f"({MIN_PAGE_SIZE}..{self.page_size})"
            )
        return replace(self, page_size=size)

    def params(self, month: date, modalidade: int | None, page: int, page_size: int | None = None) -> dict[str, Any]:
        start, end = self.window(month)
        params: dict[str, Any] = {
            self.start_param: start.strftime("%Y%m%d"),
            self.end_param: end.strftime("%Y%m%d"),
        }
        if self.per_modality:
            params["codigoModalidadeContratacao"] = modalidade
        params["pagina"] = page
        params["tamanhoPagina"] = page_size or self.page_size
        return params

    def record_keys(self, data: list[Any]) -> list[str | None]:
        """Each record's identity, in the order served, one per record as the API counts them (PCA
        counts nested items, not plans). Taken while the page is already parsed, so counting distinct
        records later never parses the JSON again. A record missing a key part has no key (None).
        Parts are joined with '|' and rendered as DuckDB's json_extract_string renders them, so keys
        computed here and in SQL (fill_record_keys.sql) are the same strings."""
        fields = tuple(path.removeprefix("$.") for path in self.record_key)
        if self.items_key is None and len(fields) == 1:  # most endpoints: one field, a string
            return [_part(record, fields[0]) for record in data]
        if self.items_key is None:
            return [_key(record, fields) for record in data]
        plan_field, item_fields = fields[0], fields[1:]
        return [_key_of((_part(plan, plan_field), *(_part(item, f) for f in item_fields)))
                for plan in data for item in _items(plan, self.items_key)]

    def key_params(self) -> dict[str, Any]:
        """The key paths as SQL reads them (fill_record_keys.sql, the tables' checks)."""
        items = self.items_key is not None
        return {
            "paths": list(self.record_key[1:] if items else self.record_key),
            "plan_path": self.record_key[0] if items else None,
            "items_path": f"$.{self.items_key}" if items else None,
        }


def _part(record: Any, name: str) -> str | None:
    value = record.get(name) if type(record) is dict else None
    if value is None or type(value) is str:
        return value
    return orjson.dumps(value).decode()


def _key_of(parts: tuple[str | None, ...]) -> str | None:
    return None if None in parts else "|".join(parts)  # type: ignore[arg-type]


def _key(record: Any, fields: tuple[str, ...]) -> str | None:
    return _key_of(tuple(_part(record, f) for f in fields))


def _items(plan: Any, key: str) -> list[Any]:
    items = plan.get(key) if isinstance(plan, dict) else None
    return items if isinstance(items, list) else []


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        name="contratacoes_publicacao",
        path="/v1/contratacoes/publicacao",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=50,
        record_key=("$.numeroControlePNCP",),
        per_modality=True,
        description="Procurements by PNCP publication date, one request series per modality.",
    ),
    Endpoint(
        name="contratacoes_atualizacao",
        path="/v1/contratacoes/atualizacao",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=50,
        record_key=("$.numeroControlePNCP",),
        per_modality=True,
        description="Procurements by global update timestamp, one request series per modality.",
    ),
    Endpoint(
        name="contratos_publicacao",
        path="/v1/contratos",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=500,
        record_key=("$.numeroControlePNCP",),
        description="Contracts and commitments by PNCP publication date.",
    ),
    Endpoint(
        name="contratos_atualizacao",
        path="/v1/contratos/atualizacao",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=500,
        record_key=("$.numeroControlePNCP",),
        description="Contracts and commitments by global update timestamp.",
    ),
    Endpoint(
        name="atas_atualizacao",
        path="/v1/atas/atualizacao",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=500,
        record_key=("$.numeroControlePNCPAta",),
        description="Price-registration records by global update date.",
    ),
    Endpoint(
        name="atas_vigencia",
        path="/v1/atas",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=500,
        record_key=("$.numeroControlePNCPAta",),
        enabled=False,
        description=(
            "Price-registration records in force during the window: huge overlapping sets "
            "(410k records for one day), so disabled by default."
        ),
    ),
    Endpoint(
        name="pca_atualizacao",
        path="/v1/pca/atualizacao",
        start_param="dataInicio",
        end_param="dataFim",
        page_size=500,
        record_key=("$.idPcaPncp", "$.numeroItem"),
        end_exclusive=True,
        empty_signal=EmptySignal.EMPTY_BODY_200,
        items_key="itens",
        first_month=date(2021, 4, 1),
        description="Annual procurement plans (items) by update date; the API rejects dates before 2021-04-01.",
    ),
    Endpoint(
        name="instrumentoscobranca_inclusao",
        path="/v1/instrumentoscobranca/inclusao",
        start_param="dataInicial",
        end_param="dataFinal",
        page_size=100,
        record_key=("$.cnpj", "$.ano", "$.sequencialContrato", "$.sequencialInstrumentoCobranca"),
        empty_signal=EmptySignal.NOT_FOUND_404,
        description="Billing instruments (NF-e) by inclusion date.",
    ),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}


class UnknownEndpointError(UsageError, ValueError):
    """An endpoint name that is not in the registry (never reaches SQL or a URL)."""


def get_endpoint(name: str) -> Endpoint:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(BY_NAME)
        raise UnknownEndpointError(f"unknown endpoint {name!r}; known endpoints: {known}") from None


def enabled_endpoints() -> tuple[Endpoint, ...]:
    return tuple(e for e in ENDPOINTS if e.enabled)
