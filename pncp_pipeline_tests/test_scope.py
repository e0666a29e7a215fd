"""Month ranges and endpoint names are checked before anything touches the database."""

from __future__ import annotations

from datetime import date

import pytest

from pncp_pipeline.endpoints import UnknownEndpointError, enabled_endpoints, get_endpoint
from pncp_pipeline.errors import UsageError
from pncp_pipeline.scope import Scope, add_months, parse_month

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize("text, message", [
    ("2024-13", "not of the form"), ("2024/03", "not of the form"), ("24-03", "not of the form"), ("", "not of the form"),
    ("2020-12", "before 2021-01"), ("2027-01", "in the future"),
])
def test_bad_months_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_month(text, today=TODAY)


def test_inverted_range_and_unknown_endpoint() -> None:
    with pytest.raises(UsageError, match="after end month"):
        Scope.from_args("2024-03", "2024-01", today=TODAY)
    with pytest.raises(UnknownEndpointError, match="known endpoints: contratacoes_publicacao"):
        Scope.from_args("2024-01", endpoint_names=["contratos; DROP TABLE x"], today=TODAY)


def test_months_and_defaults() -> None:
    scope = Scope.from_args("2024-11", "2025-02", today=TODAY)
    assert scope.months == [date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]
    assert scope.endpoints == enabled_endpoints()
    assert "atas_vigencia" not in {e.name for e in scope.endpoints}
    assert add_months(date(2024, 12, 1), 1) == date(2025, 1, 1)


def test_pca_window_has_an_exclusive_end_and_its_own_parameter_names() -> None:
    params = get_endpoint("pca_atualizacao").params(date(2025, 2, 1), None, 3)
    assert params == {"dataInicio": "20250201", "dataFim": "20250301", "pagina": 3, "tamanhoPagina": 500}
    params = get_endpoint("contratacoes_publicacao").params(date(2024, 2, 1), 8, 1)
    assert params == {"dataInicial": "20240201", "dataFinal": "20240229", "codigoModalidadeContratacao": 8,
                      "pagina": 1, "tamanhoPagina": 50}
