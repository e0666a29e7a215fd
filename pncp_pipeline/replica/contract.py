"""The consultation API's request contract, transcribed from SPEC.md and the OpenAPI document.

Deliberately independent of `pncp_pipeline.endpoints`: if the pipeline's registry and the replica
read one table, a wrong parameter name would be wrong in both and every test would pass while the
real API refused every request. Everything here is the API's word, not the pipeline's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Empty(enum.Enum):
    """How a path answers a query with no records (SPEC §6)."""

    NO_CONTENT = "204"
    EMPTY_200 = "200-empty-body"
    NOT_FOUND = "404-message"


class Window(enum.Enum):
    """What the date filter selects (SPEC §1.1)."""

    DAY = "records dated inside the window"
    OVERLAP = "records whose validity overlaps the window"
    PROPOSAL = "open proposals closing between today and dataFinal"


@dataclass(frozen=True)
class PathContract:
    path: str
    family: str
    start_param: str | None
    end_param: str
    max_page_size: int
    default_page_size: int
    modality: str = "none"  # "required", "optional" or "none"
    end_exclusive: bool = False
    empty: Empty = Empty.NO_CONTENT
    window: Window = Window.DAY
    cnpj_param: str | None = None
    min_start: str | None = None

    @property
    def internal_path(self) -> str:
        """Error bodies report the server's own context path, not the public one (SPEC §1)."""
        return "/pncp-consulta" + self.path.removeprefix("/api/consulta")


PREFIX = "/api/consulta"
MIN_PAGE_SIZE = 10
MAX_WINDOW_DAYS = 365

PATHS: dict[str, PathContract] = {
    c.path: c
    for c in (
        PathContract(
            f"{PREFIX}/v1/contratacoes/publicacao", "contratacao", "dataInicial", "dataFinal",
            50, 10, modality="required", cnpj_param="cnpj",
        ),
        PathContract(
            f"{PREFIX}/v1/contratacoes/atualizacao", "contratacao_atualizacao", "dataInicial",
            "dataFinal", 50, 10, modality="required", cnpj_param="cnpj",
        ),
        PathContract(
            f"{PREFIX}/v1/contratacoes/proposta", "proposta", None, "dataFinal", 50, 10,
            modality="optional", window=Window.PROPOSAL, cnpj_param="cnpj",
        ),
        PathContract(f"{PREFIX}/v1/contratos", "contrato", "dataInicial", "dataFinal", 500, 500,
                     cnpj_param="cnpjOrgao"),
        PathContract(f"{PREFIX}/v1/contratos/atualizacao", "contrato_atualizacao", "dataInicial",
                     "dataFinal", 500, 500, cnpj_param="cnpjOrgao"),
        PathContract(f"{PREFIX}/v1/atas", "ata_vigencia", "dataInicial", "dataFinal", 500, 500,
                     window=Window.OVERLAP, cnpj_param="cnpj"),
        PathContract(f"{PREFIX}/v1/atas/atualizacao", "ata", "dataInicial", "dataFinal", 500, 500,
                     cnpj_param="cnpj"),
        PathContract(
            f"{PREFIX}/v1/pca/atualizacao", "pca", "dataInicio", "dataFim", 500, 10,
            end_exclusive=True, empty=Empty.EMPTY_200, cnpj_param="cnpj", min_start="20210401",
        ),
        PathContract(
            f"{PREFIX}/v1/instrumentoscobranca/inclusao", "instrumento", "dataInicial",
            "dataFinal", 100, 10, empty=Empty.NOT_FOUND, cnpj_param="cnpjOrgao",
        ),
    )
}

MODALITIES_PATH = "/api/pncp/v1/modalidades"

#: Java types as Spring names them in "Required request parameter ... type X is not present".
JAVA_TYPES = {
    "pagina": "Integer",
    "tamanhoPagina": "Integer",
    "codigoModalidadeContratacao": "Long",
}

MSG_NO_INSTRUMENTS = "Nenhum instrumento de Cobrança encontrado."
MSG_BAD_MODALITY = "Código da modalidade de contratação inválido."
MSG_ORDER = "Data Inicial deve ser anterior ou igual à Data Final"
MSG_WINDOW = "Período inicial e final maior que 365 dias."
MSG_PAGE_SIZE = "Tamanho de página inválido"
MSG_PAGE_PAST_END = "Número da página informado é maior que o total de páginas."
MSG_PAGE_MIN = "Número da página deve ser maior que zero."
MSG_PCA_START = "Data inicial inválida ou anterior a 20210401"
MSG_PROPOSAL_PAST = "Data Final inválida. Data Final deve ser maior ou igual a data atual"
MSG_UNIT_WITHOUT_CNPJ = "Obrigatório que o CNPJ do órgão seja informado."


def msg_bad_date(which: str) -> str:
    return f"Data {which} inválida"


def msg_missing(param: str) -> str:
    java = JAVA_TYPES.get(param, "String")
    return f"Required request parameter '{param}' for method parameter type {java} is not present"


def msg_bad_type(param: str, value: str) -> str:
    java = JAVA_TYPES.get(param, "String")
    return (
        f"Method parameter '{param}': Failed to convert value of type 'java.lang.String' to required "
        f"type 'java.lang.{java}'; For input string: \"{value}\""
    )
