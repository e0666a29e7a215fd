"""Response classes: decided once, in `client.classify`, for every way the API answers."""

from __future__ import annotations

import orjson
import pytest

from pncp_pipeline.client import MAX_FAILED_BODY_BYTES, ResponseClass, classify, storable_body
from pncp_pipeline.endpoints import get_endpoint

CONTRATOS = get_endpoint("contratos_publicacao")
PCA = get_endpoint("pca_atualizacao")
INSTRUMENTOS = get_endpoint("instrumentoscobranca_inclusao")


def envelope(page: int = 1, data: list | None = None, total: int = 3, pages: int = 2) -> bytes:
    data = [{"id": 1}] if data is None else data
    return orjson.dumps({"data": data, "totalRegistros": total, "totalPaginas": pages, "numeroPagina": page,
                         "paginasRestantes": pages - page, "empty": not data})


@pytest.mark.parametrize("endpoint, page, status, body, expected", [
    (CONTRATOS, 1, 200, envelope(), ResponseClass.DATA),
    (CONTRATOS, 1, 204, b"", ResponseClass.EMPTY),
    (CONTRATOS, 2, 204, b"", ResponseClass.RETRYABLE),  # "nothing" after page 1 announced more
    (PCA, 1, 200, b"", ResponseClass.EMPTY),
    (CONTRATOS, 1, 200, b"", ResponseClass.RETRYABLE),  # only PCA says "empty" that way
    (INSTRUMENTOS, 1, 404, b'{"message": "Nenhum instrumento de Cobran\xc3\xa7a encontrado."}', ResponseClass.EMPTY),
    (CONTRATOS, 1, 404, b'{"message": "x"}', ResponseClass.RETRYABLE),  # a transient 404 elsewhere
    (CONTRATOS, 1, 400, b'{"status": 400, "message": "bad"}', ResponseClass.FATAL),
    (CONTRATOS, 1, 422, b'{"status": "422", "message": "bad"}', ResponseClass.FATAL),
    (CONTRATOS, 3, 400, b'{"status": 400}', ResponseClass.RETRYABLE),  # page past the end: not landed
    (CONTRATOS, 1, 429, b"<html>Limite</html>", ResponseClass.RETRYABLE),
    (CONTRATOS, 1, 503, b"", ResponseClass.RETRYABLE),
    (CONTRATOS, 1, 200, b"<!DOCTYPE html><html>manutencao</html>", ResponseClass.RETRYABLE),
    (CONTRATOS, 1, 200, envelope()[:20], ResponseClass.RETRYABLE),  # cut mid-JSON
    (CONTRATOS, 2, 200, envelope(page=3), ResponseClass.RETRYABLE),  # wrong numeroPagina
    (CONTRATOS, 2, 200, envelope(page=2, data=[]), ResponseClass.RETRYABLE),  # empty page 2+
    (CONTRATOS, 1, 200, b'{"data": "nope"}', ResponseClass.RETRYABLE),
    (CONTRATOS, 1, 200, b"[1, 2]", ResponseClass.RETRYABLE),
])
def test_classify(endpoint, page, status, body, expected) -> None:
    assert classify(endpoint, page, status, body)[0] is expected


def test_totals_come_from_the_server_and_pca_counts_items() -> None:
    items = [{"numeroItem": n} for n in range(1, 5)]
    body = envelope(data=[{"idPcaPncp": "A", "itens": items[:3]}, {"idPcaPncp": "B", "itens": items[3:]}],
                    total=6018, pages=13)
    response_class, learned = classify(PCA, 1, 200, body)
    assert response_class is ResponseClass.DATA
    assert learned == {"total_records": 6018, "total_pages": 13, "page_records": 4,
                       "record_keys": ["A|1", "A|2", "A|3", "B|4"]}


def test_fatal_error_carries_the_api_message() -> None:
    _, learned = classify(CONTRATOS, 1, 422, '{"message": "Data Inicial inválida"}'.encode())
    assert learned["error"] == "HTTP 422: Data Inicial inválida"


def test_invalid_utf8_is_never_a_data_page() -> None:
    """The writer stores a data page's bytes undecoded on the strength of this: its parse checks them."""
    body = envelope().replace(b'"id"', b'"\xc3"')
    assert classify(CONTRATOS, 1, 200, body)[0] is ResponseClass.RETRYABLE


def test_a_body_cut_inside_a_character_is_stored_as_valid_text() -> None:
    """Regression guard: one undecodable body fails its whole batch in the writer's decode()."""
    cut = '{"objeto": "Contratação'.encode()[:-4]  # ends inside the two bytes of "ç"
    stored = storable_body(ResponseClass.RETRYABLE, cut)
    assert stored.decode("utf-8") == '{"objeto": "Contrata\ufffd'
    assert len(storable_body(ResponseClass.FATAL, b"x" * (MAX_FAILED_BODY_BYTES + 10))) == MAX_FAILED_BODY_BYTES
    page = envelope(data=[{"objeto": "Contratação"}])
    assert storable_body(ResponseClass.DATA, page) is page  # kept as it came, never copied
