"""Record keys: taken in Python while a page is parsed (endpoints.record_keys), rebuilt in SQL for
raw rows older than the column (fill_record_keys.sql). Both must give the same strings, or a task
that straddles an upgrade would count a record twice."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pncp_pipeline import control
from pncp_pipeline.endpoints import ENDPOINTS, Endpoint, get_endpoint
from pncp_pipeline.scope import Scope
from pncp_pipeline.replica.data import SAMPLES
from pncp_pipeline.storage import ensure_schema, sql

#: The real probe (one record per endpoint), as the project ships it from ../shared.
PROBE = json.loads((SAMPLES / "multi-endpoint_probe-one-record-each-2025-07-17.json").read_text("utf-8"))
MONTH = date(2025, 7, 1)


def records_for(endpoint: Endpoint) -> list[Any]:
    """The endpoint's real sample record, a copy with other key values, and broken ones."""
    names = (endpoint.name, endpoint.name.replace("_vigencia", "_periodo"))  # the probe calls it atas_periodo
    (real,) = [e["sample_record"] for e in PROBE if e["endpoint"] in names]
    other = copy.deepcopy(real)
    first = endpoint.record_key[-1].removeprefix("$.")
    if endpoint.items_key:
        other[endpoint.items_key] = [{**item, first: 7_000 + i} for i, item in enumerate(real[endpoint.items_key])]
        other[endpoint.items_key].append({"numeroItem": None})  # an item without its number: no key
    else:
        other[first] = 12345 if isinstance(real[first], int) else real[first] + "-2"
    missing = {k: v for k, v in real.items() if k != endpoint.record_key[0].removeprefix("$.")}
    broken = [{**real, endpoint.items_key: {"not": "a list"}}] if endpoint.items_key else []
    return [real, other, missing, real, *broken]  # the repeat is the same key twice, as unstable paging serves


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(tmp_path / "keys.duckdb"))
    ensure_schema(c)
    yield c
    c.close()


def land_legacy(conn: duckdb.DuckDBPyConnection, endpoint: Endpoint, data: list[Any], page: int = 1) -> None:
    """A data page as versions before record_keys wrote it: the column left NULL."""
    body = json.dumps({"data": data, "totalRegistros": 8, "totalPaginas": 2, "numeroPagina": page}, ensure_ascii=False)
    task_id = f"{endpoint.name}_{MONTH}"
    conn.execute("INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date, status, total_pages, "
                 "total_records, missing_pages) VALUES (?, ?, ?, 'FETCHING', 2, 8, '[2]') ON CONFLICT DO NOTHING",
                 [task_id, endpoint.name, MONTH])
    conn.execute("INSERT INTO psa.pncp_raw_responses (task_id, endpoint_name, data_date, page, request_url, "
                 "status_code, response_class, body, page_records, attempt, run_id, fetched_at) "
                 "VALUES (?, ?, ?, ?, 'http://test/', 200, 'data', ?, ?, 1, 'old', ?)",
                 [task_id, endpoint.name, MONTH, page, body, len(endpoint.record_keys(data)), datetime.now()])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_sql_fill_builds_the_keys_python_builds(conn, endpoint: Endpoint) -> None:
    data = records_for(endpoint)
    land_legacy(conn, endpoint, data)
    conn.execute(sql("fill_record_keys"), {"endpoint": endpoint.name, "start": MONTH, "end": MONTH}
                 | endpoint.key_params())
    (stored,) = conn.execute("SELECT record_keys FROM psa.pncp_raw_responses").fetchone()
    python = endpoint.record_keys(data)
    assert stored == python
    assert None in python and len(set(python) - {None}) >= 2  # the broken record has no key, others differ


def test_composite_keys_join_their_parts_as_json_text() -> None:
    keys = get_endpoint("instrumentoscobranca_inclusao").record_keys(
        [{"cnpj": "00394460000141", "ano": 2025, "sequencialContrato": 12, "sequencialInstrumentoCobranca": 1},
         {"cnpj": "00394460000141", "ano": 2025, "sequencialContrato": 12}, "not a record"])
    assert keys == ["00394460000141|2025|12|1", None, None]


def test_pca_has_one_key_per_item_prefixed_by_its_plan() -> None:
    keys = get_endpoint("pca_atualizacao").record_keys(
        [{"idPcaPncp": "P1", "itens": [{"numeroItem": 1}, {"numeroItem": 2}]}, {"idPcaPncp": "P2", "itens": None},
         {"itens": [{"numeroItem": 1}]}])
    assert keys == ["P1|1", "P1|2", None]


def test_reconcile_counts_distinct_records_of_a_file_written_before_keys_were_stored(conn) -> None:
    endpoint = get_endpoint("contratos_publicacao")
    data = records_for(endpoint)
    land_legacy(conn, endpoint, data, page=1)
    land_legacy(conn, endpoint, data[:2], page=2)  # page 2 repeats page 1's two keyed records
    control.reconcile(conn, Scope((endpoint,), MONTH, MONTH))
    status, landed, distinct = conn.execute(
        "SELECT status, records_landed, records_distinct FROM psa.pncp_extraction_tasks").fetchone()
    assert (status, landed, distinct) == ("COMPLETE", 6, 2)
    (unfilled,) = conn.execute("SELECT count(*) FROM psa.pncp_raw_responses WHERE record_keys IS NULL").fetchone()
    assert unfilled == 0
