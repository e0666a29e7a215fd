"""Every status transition of a task, driven through the real phases against the replica over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from pncp_pipeline import control, engine
from pncp_pipeline.client import Outcome, PncpClient, ResponseClass
from pncp_pipeline.control import PageRequest
from pncp_pipeline.endpoints import get_endpoint
from pncp_pipeline.errors import DatabaseFileError
from pncp_pipeline.phases import discover, fetch, plan, reconcile
from pncp_pipeline.phases.download import download
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ROW_GROUP_SIZE, WRITER_CHECKPOINT_THRESHOLD, file_factory, open_database
from pncp_pipeline.writer import COLUMNS, Database, RawWriter, insert_rows
from pncp_pipeline_tests.helpers import fast_settings, query, row_group_sizes, run, statuses

log = logging.getLogger("test")


def _scope(name: str, month: str = "2025-07", end: str | None = None) -> Scope:
    return Scope.from_args(month, end, [name])


def test_plan_is_idempotent_and_fans_out_per_modality(db_path: Path, replica) -> None:
    scope = Scope.from_args("2025-05", "2025-07", ["contratacoes_publicacao", "contratos_publicacao"])
    first = plan.run(file_factory(db_path), scope, fast_settings(replica.url))
    assert first.modalities == tuple(range(1, 20))  # from the replica's domain table
    assert first.new_tasks == 3 * 19 + 3
    with open_database(db_path) as conn:
        assert control.plan(conn, scope, tuple(range(1, 20))) == 0
    rows = query(db_path, "SELECT task_id, status, modalidade FROM psa.pncp_extraction_tasks ORDER BY 1")
    assert len(rows) == 60
    assert {r[1] for r in rows} == {"PENDING"}
    assert ("contratos_publicacao_2025-05-01", "PENDING", None) in rows
    assert ("contratacoes_publicacao_2025-06-01_8", "PENDING", 8) in rows


def test_plan_of_a_fully_planned_range_asks_nothing(db_path: Path, replica) -> None:
    scope = _scope("contratacoes_publicacao")
    plan.run(file_factory(db_path), scope, fast_settings(replica.url))
    replica.reset_stats()
    again = plan.run(file_factory(db_path), scope, fast_settings(replica.url))
    assert (again.new_tasks, again.modalities) == (0, None)
    assert replica.stats()["total"] == 0


def test_plan_respects_an_endpoints_first_month(db_path: Path, replica) -> None:
    plan.run(file_factory(db_path), Scope.from_args("2021-02", "2021-05", ["pca_atualizacao"]), fast_settings(replica.url))
    months = [r[0].isoformat() for r in query(db_path, "SELECT data_date FROM psa.pncp_extraction_tasks ORDER BY 1")]
    assert months == ["2021-04-01", "2021-05-01"]


def test_claim_marks_pending_tasks_discovering(db_path: Path) -> None:
    scope = _scope("contratos_publicacao")
    with open_database(db_path) as conn:
        control.plan(conn, scope, ())
        claimed = control.claim_discovery(conn, scope, "dead-run")
        assert [c.task_id for c in claimed] == ["contratos_publicacao_2025-07-01"]
        assert [c.page for c in claimed] == [1]
    assert statuses(db_path) == {"contratos_publicacao_2025-07-01": "DISCOVERING"}


def test_discover_multi_page_task_becomes_fetching_with_pages_two_to_n(db_path: Path, replica) -> None:
    scope = _scope("contratos_atualizacao")
    settings = fast_settings(replica.url)
    plan.run(file_factory(db_path), scope, settings)
    discover.run(file_factory(db_path), scope, settings, "run-1", log)
    (status, total_pages, total_records, missing), = query(
        db_path, "SELECT status, total_pages, total_records, missing_pages FROM psa.pncp_extraction_tasks")
    page1 = httpx.get(f"{replica.url}/api/consulta/v1/contratos/atualizacao",
                      params={"dataInicial": "20250701", "dataFinal": "20250731", "pagina": 1, "tamanhoPagina": 500}).json()
    assert total_pages == page1["totalPaginas"] > 1
    assert total_records == page1["totalRegistros"]
    assert status == "FETCHING"
    assert missing == str(list(range(2, total_pages + 1))).replace(" ", "")


def test_discover_single_page_task_is_complete(db_path: Path, replica) -> None:
    scope = _scope("atas_atualizacao", "2025-05")
    page1 = httpx.get(f"{replica.url}/api/consulta/v1/atas/atualizacao",
                      params={"dataInicial": "20250501", "dataFinal": "20250531", "pagina": 1, "tamanhoPagina": 500}).json()
    assert page1["totalPaginas"] == 1
    settings = fast_settings(replica.url)
    plan.run(file_factory(db_path), scope, settings)
    discover.run(file_factory(db_path), scope, settings, "run-1", log)
    assert query(db_path, "SELECT status, total_records, records_landed, missing_pages FROM psa.pncp_extraction_tasks") == [
        ("COMPLETE", page1["totalRegistros"], len(page1["data"]), "[]")]


@pytest.mark.parametrize("endpoint, how", [
    ("contratacoes_publicacao", 204),   # modality 2 never has data
    ("pca_atualizacao", 200),           # PCA: 200 with an empty body
    ("instrumentoscobranca_inclusao", 404),  # billing instruments: 404 with a message
])
def test_empty_month_is_complete_with_zero_records(db_path: Path, replica_factory, endpoint: str, how: int) -> None:
    # A "today" before the month makes the whole month empty on the replica, whatever the endpoint.
    from datetime import date

    server = replica_factory(today=date(2025, 6, 30))
    scope = _scope(endpoint)
    with open_database(db_path) as conn:
        control.plan(conn, scope, (2,))
    discover.run(file_factory(db_path), scope, fast_settings(server.url), "run-1", log)
    rows = query(db_path, "SELECT status, total_records, total_pages FROM psa.pncp_extraction_tasks")
    assert rows == [("COMPLETE", 0, 0)]
    ((status_code, response_class),) = query(db_path, "SELECT status_code, response_class FROM psa.pncp_raw_responses")
    assert (status_code, response_class) == (how, "empty")


def test_fatal_page_one_fails_the_task_with_the_error(db_path: Path, replica) -> None:
    scope = _scope("contratacoes_publicacao")
    with open_database(db_path) as conn:
        control.plan(conn, scope, (99,))  # not a modality: the API answers 422
    discover.run(file_factory(db_path), scope, fast_settings(replica.url), "run-1", log)
    ((status, error),) = query(db_path, "SELECT status, last_error FROM psa.pncp_extraction_tasks")
    assert status == "FAILED"
    assert "422" in error and "modalidade" in error
    assert replica.stats()["total"] == 1  # a fatal answer is not retried


def test_retryable_page_one_that_never_recovers_is_partial_not_failed(db_path: Path, replica) -> None:
    scope = _scope("contratos_atualizacao")
    replica.replica.faults.update({"fail_5xx": 1.0})
    settings = fast_settings(replica.url)
    plan.run(file_factory(db_path), scope, settings)
    discover.run(file_factory(db_path), scope, settings, "run-1", log)
    ((status, total_pages, missing, error),) = query(
        db_path, "SELECT status, total_pages, missing_pages, last_error FROM psa.pncp_extraction_tasks")
    assert (status, total_pages, missing) == ("PARTIAL", None, "[1]")
    assert error.startswith("HTTP 5")
    assert query(db_path, "SELECT count(*), count(DISTINCT attempt) FROM psa.pncp_raw_responses") == [(3, 3)]
    # PARTIAL without totals -> DISCOVERING -> FETCHING once the API recovers.
    replica.replica.faults.update({"fail_5xx": 0.0})
    discover.run(file_factory(db_path), scope, settings, "run-2", log)
    assert query(db_path, "SELECT status FROM psa.pncp_extraction_tasks") == [("FETCHING",)]


def test_fetch_failures_leave_partial_then_a_rerun_completes(db_path: Path, replica) -> None:
    scope = _scope("contratos_atualizacao")
    settings = fast_settings(replica.url)
    plan.run(file_factory(db_path), scope, settings)
    discover.run(file_factory(db_path), scope, settings, "run-1", log)
    replica.replica.faults.update({"fail_5xx": 1.0})
    result = fetch.run(file_factory(db_path), scope, settings, "run-1", log)
    assert result.landed == 0 and result.requested > 0
    reconcile.run(file_factory(db_path), scope)
    ((status, total_pages, missing, error),) = query(
        db_path, "SELECT status, total_pages, missing_pages, last_error FROM psa.pncp_extraction_tasks")
    assert status == "PARTIAL"
    assert missing == str(list(range(2, total_pages + 1))).replace(" ", "")
    assert "page(s) missing" in error
    replica.replica.faults.update({"fail_5xx": 0.0})
    replica.reset_stats()
    fetch.run(file_factory(db_path), scope, settings, "run-2", log)
    rows = reconcile.run(file_factory(db_path), scope).summary
    assert [r["status"] for r in rows] == ["COMPLETE"]
    assert replica.stats()["total"] == total_pages - 1  # page 1 had landed: never asked again


def test_a_task_left_discovering_by_a_dead_process_is_picked_up(db_path: Path, replica) -> None:
    scope = _scope("contratos_atualizacao")
    with open_database(db_path) as conn:
        control.plan(conn, scope, ())
        control.claim_discovery(conn, scope, "dead-run")  # ...and the process died here
    result = run(db_path, replica.url, "2025-07", endpoints=["contratos_atualizacao"])
    assert result.complete


def _download_claimed(db_path: Path, scope: Scope, settings: ClientSettings, run_id: str,
                      fetch_page: Callable[..., Awaitable[Any]] | None = None) -> None:
    """Plan the scope, claim its discovery as `run_id` and download the claimed page 1s through the
    real client and writer, and nothing else (`fetch_page`, when given, replaces the client's)."""
    with open_database(db_path) as conn:
        control.plan(conn, scope, ())
        claimed = control.claim_discovery(conn, scope, run_id)

    async def requests():
        for request in claimed:
            yield request

    async def go() -> None:
        with open_database(db_path) as conn:
            async with PncpClient(settings) as client, RawWriter(Database(conn)) as writer:
                if fetch_page:
                    client.fetch_page = fetch_page
                await download(client, scope, requests(), writer, run_id)

    asyncio.run(go())


def test_a_landed_page_one_is_adopted_without_asking_again(db_path: Path, replica) -> None:
    """A kill between landing page 1 and recording the totals: the next run trusts the raw row."""
    scope = _scope("contratos_atualizacao")
    settings = fast_settings(replica.url)
    _download_claimed(db_path, scope, settings, "dead-run")
    assert statuses(db_path) == {"contratos_atualizacao_2025-07-01": "DISCOVERING"}
    replica.reset_stats()
    discover.run(file_factory(db_path), scope, settings, "run-2", log)
    assert statuses(db_path) == {"contratos_atualizacao_2025-07-01": "FETCHING"}
    assert replica.stats()["total"] == 0


def test_reconcile_restores_a_lost_page_one(db_path: Path, replica) -> None:
    """reconcile checks 1..N against the raw table, so a page 1 that vanished becomes missing again."""
    result = run(db_path, replica.url, "2025-07", endpoints=["contratos_atualizacao"])
    assert result.complete
    with open_database(db_path) as conn:
        conn.execute("DELETE FROM psa.pncp_raw_responses WHERE page = 1")
        conn.execute("UPDATE psa.pncp_extraction_tasks SET status = 'FETCHING'")
    reconcile.run(file_factory(db_path), _scope("contratos_atualizacao"))
    assert query(db_path, "SELECT status, missing_pages FROM psa.pncp_extraction_tasks") == [("PARTIAL", "[1]")]
    assert run(db_path, replica.url, "2025-07", endpoints=["contratos_atualizacao"]).complete


def test_full_run_lands_every_page_once_and_rerun_asks_nothing(db_path: Path, replica) -> None:
    result = run(db_path, replica.url, "2025-06", "2025-07")
    assert result.complete
    mismatched = query(db_path, "SELECT task_id FROM psa.pncp_extraction_tasks WHERE records_landed <> total_records")
    assert mismatched == []
    dupes = query(db_path, """SELECT task_id, page FROM psa.pncp_raw_responses
                              WHERE response_class = 'data' GROUP BY ALL HAVING count(*) > 1""")
    assert dupes == []
    expected = query(db_path, "SELECT sum(greatest(total_pages, 1)) FROM psa.pncp_extraction_tasks")[0][0]
    landed = query(db_path, "SELECT count(*) FROM psa.pncp_raw_responses WHERE response_class IN ('data', 'empty')")[0][0]
    assert landed == expected
    replica.reset_stats()
    again = run(db_path, replica.url, "2025-06", "2025-07")
    assert again.complete and again.pages_requested == 0
    assert replica.stats()["total"] == 0


def test_raw_rows_keep_their_provenance(db_path: Path, replica) -> None:
    run(db_path, replica.url, "2025-07", endpoints=["contratos_atualizacao"])
    row = query(db_path, """SELECT request_url, request_params->>'dataInicial', status_code, body_sha256 = sha256(body),
                                   headers->>'content-type', attempt, run_id IS NOT NULL, total_records > 0
                            FROM psa.pncp_raw_responses WHERE page = 2""")[0]
    url, start, code, sha_ok, ctype, attempt, has_run, has_totals = row
    assert "/api/consulta/v1/contratos/atualizacao?" in url and "pagina=2" in url
    assert (start, code, sha_ok, ctype, attempt, has_run, has_totals) == ("20250701", 200, True, "application/json", 1, True, True)


def test_retryable_errors_that_recover_end_complete(db_path: Path, replica_factory) -> None:
    server = replica_factory(fail_5xx=0.3, fail_truncate=0.1, fail_html=0.1, fail_reset=0.1)
    result = run(db_path, server.url, "2025-07", endpoints=["contratos_atualizacao", "pca_atualizacao"], max_attempts=10)
    assert result.complete
    assert sum(server.stats()["faults"].values()) > 0
    bad = query(db_path, "SELECT count(*) FROM psa.pncp_raw_responses WHERE response_class = 'retryable'")[0][0]
    assert bad > 0  # the failures were seen and kept, not counted as landed


def test_scope_limits_the_work(db_path: Path, replica) -> None:
    run(db_path, replica.url, "2025-07", endpoints=["contratos_atualizacao"])
    assert {t.split("_2025")[0] for t in statuses(db_path)} == {"contratos_atualizacao"}
    assert get_endpoint("contratos_atualizacao").page_size == 500


def test_attempts_count_runs_not_phases(db_path: Path, replica_factory) -> None:
    server = replica_factory()
    result = run(db_path, server.url, "2025-07", endpoints=["contratos_atualizacao"])
    assert result.complete
    assert query(db_path, "SELECT attempts FROM psa.pncp_extraction_tasks") == [(1,)]
    with open_database(db_path) as conn:  # a later run that still has pages to fetch counts once more
        conn.execute("UPDATE psa.pncp_extraction_tasks SET status = 'PARTIAL', missing_pages = '[2]'")
        conn.execute("DELETE FROM psa.pncp_raw_responses WHERE page = 2")
    assert run(db_path, server.url, "2025-07", endpoints=["contratos_atualizacao"]).complete
    assert query(db_path, "SELECT attempts FROM psa.pncp_extraction_tasks") == [(2,)]


def _fill_the_disk_after(monkeypatch, good_inserts: int) -> list[int]:
    """Make every insert after the first `good_inserts` fail as a full disk does; returns batch sizes."""
    from pncp_pipeline import writer

    real_insert, inserts = writer.insert_rows, []

    def insert(conn, rows, *args) -> None:
        inserts.append(len(rows))
        if len(inserts) > good_inserts:
            raise duckdb.IOException("IO Error: No space left on device")
        real_insert(conn, rows, *args)
    monkeypatch.setattr(writer, "insert_rows", insert)
    return inserts


def test_a_writer_failing_mid_fetch_ends_the_run_with_its_error(db_path: Path, replica, monkeypatch) -> None:
    """Regression: a failure mid-run killed the workers while the page queue was full, and the
    producer's end markers then waited forever for room in it; the run hung instead of failing."""
    scope = Scope.from_args("2025-01", "2025-07", ["contratos_atualizacao"], page_sizes={"contratos_atualizacao": 10})
    factory, settings = file_factory(db_path), fast_settings(replica.url, concurrency=2)
    plan.run(factory, scope, settings)
    discover.run(factory, scope, settings, "run-1", log)
    (pages,) = query(db_path, "SELECT sum(total_pages) - count(*) FROM psa.pncp_extraction_tasks")[0]
    assert pages > 3 * RawWriter(None).max_rows  # several batches by count alone: the second is mid-run
    inserts = _fill_the_disk_after(monkeypatch, good_inserts=1)
    with pytest.raises(DatabaseFileError, match="is full"):
        fetch.run(factory, scope, settings, "run-1", log)
    landed = query(db_path, "SELECT count(*) FROM psa.pncp_raw_responses WHERE page > 1")[0][0]
    assert landed == inserts[0] < pages  # the first batch committed; the rest is missing for the next run


def test_a_failing_page_listing_ends_the_fetch_with_its_own_error(db_path: Path, replica, monkeypatch) -> None:
    """The list of missing pages is read while pages download; its failure must come out as the
    one-line storage error, not as an ExceptionGroup traceback from the workers' task group."""
    scope = Scope.from_args("2025-06", "2025-06", ["contratos_atualizacao"], page_sizes={"contratos_atualizacao": 10})
    factory, settings = file_factory(db_path), fast_settings(replica.url, concurrency=2)
    plan.run(factory, scope, settings)
    discover.run(factory, scope, settings, "run-1", log)

    def listing_fails(*args) -> None:
        raise duckdb.IOException("IO Error: No space left on device")
    monkeypatch.setattr(control, "missing_pages", listing_fails)
    with pytest.raises(DatabaseFileError, match="is full"):
        fetch.run(factory, scope, settings, "run-1", log)


def test_a_failing_download_raises_its_error_with_its_cause(db_path: Path, replica) -> None:
    """Unwrapped from the workers' task group, the error keeps what caused it (`raise ... from`)."""
    async def unreadable_page(*args, **kwargs) -> None:
        try:
            {}["totalRegistros"]
        except KeyError as missing:
            raise ValueError("a page without its totals") from missing

    with pytest.raises(ValueError, match="without its totals") as raised:
        _download_claimed(db_path, _scope("contratos_atualizacao"), fast_settings(replica.url), "run-1",
                          fetch_page=unreadable_page)
    assert isinstance(raised.value.__cause__, KeyError)


def test_a_writer_whose_last_batch_fails_raises_instead_of_waiting(db_path: Path, monkeypatch) -> None:
    """Regression: the last batch's commit failed after the writer had read its end marker, and its
    error path waited for another marker that never came."""
    inserts = _fill_the_disk_after(monkeypatch, good_inserts=0)
    row = {"body": b"{}"}  # never written: the insert fails first

    async def write() -> None:
        with open_database(db_path) as conn:
            # no batch closes by count, bytes or age: the only commit is the one after the end marker
            async with RawWriter(Database(conn), max_rows=10**6, max_bytes=2**40, max_age_s=3600.0) as w:
                for _ in range(3):
                    await w.put(row)

    with pytest.raises(DatabaseFileError, match="is full"):
        asyncio.run(write())
    assert inserts == [3]


def _raw_row(page: int, body: bytes = b"{}") -> dict[str, Any]:
    """A data row as the writer takes it, for tests that write without a server."""
    return dict.fromkeys(COLUMNS) | {
        "task_id": "t", "endpoint_name": "e", "data_date": date(2025, 1, 1), "page": page, "request_url": "u",
        "response_class": "data", "body": body, "attempt": 1, "run_id": "r", "fetched_at": datetime.now(timezone.utc)}


def test_the_writer_checkpoints_whole_row_groups(db_path: Path) -> None:
    """Batches stop at each ROW_GROUP_SIZE rows and the writer checkpoints there: every full row
    group is on disk (out of memory) while the connection is still open, the rest is not yet."""
    rows = [_raw_row(i) for i in range(2 * ROW_GROUP_SIZE + 5)]

    async def write() -> tuple[list[tuple[bool, int]], tuple[str]]:
        with open_database(db_path) as conn:
            async with RawWriter(Database(conn), max_rows=300, max_age_s=3600.0) as w:
                for row in rows:
                    await w.put(row)
            threshold = conn.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
            return conn.execute(
                "SELECT bool_and(persistent), max(count) FROM pragma_storage_info('psa.pncp_raw_responses') "
                "GROUP BY row_group_id ORDER BY row_group_id").fetchall(), threshold

    groups, threshold = asyncio.run(write())
    assert groups == [(True, ROW_GROUP_SIZE), (True, ROW_GROUP_SIZE), (False, 5)]
    # DuckDB's own size threshold is raised out of the writer's way, on the writer's connection only
    with duckdb.connect() as conn:
        conn.execute("SET checkpoint_threshold = ?", [WRITER_CHECKPOINT_THRESHOLD])
        raised = conn.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    with open_database(db_path) as conn:
        default = conn.execute("SELECT current_setting('checkpoint_threshold')").fetchone()
    assert threshold == raised != default
    with open_database(db_path, read_only=True) as conn:
        assert row_group_sizes(conn, "psa.pncp_raw_responses") == [ROW_GROUP_SIZE, ROW_GROUP_SIZE, 5]


def test_bodies_handed_over_as_bytes_land_as_text_with_their_hash(db_path: Path) -> None:
    """The writer hands DuckDB each body's UTF-8 bytes (less time under the GIL than str) and
    DuckDB decodes them: the stored text and its sha256 are those of the page as received."""
    bodies = ['{"objeto": "Aquisição de água"}'.encode(), b'{"data": []}']
    rows = [_raw_row(page, body) for page, body in enumerate(bodies, 1)]
    with open_database(db_path) as conn:
        insert_rows(conn, rows)
    assert query(db_path, "SELECT body, body_sha256 FROM psa.pncp_raw_responses ORDER BY page") == [
        (body.decode(), hashlib.sha256(body).hexdigest()) for body in bodies]


def test_a_page_handed_to_the_writer_does_not_hold_a_request_slot(replica) -> None:
    """With one request slot, the first page's hand-off waits until a second page has arrived:
    only possible if the slot is free while a caller parses and writes (then the next request's
    wait for the server overlaps that work instead of following it)."""
    scope = _scope("contratos_atualizacao", "2025-07", "2025-08")
    second_arrived = asyncio.Event()

    class Writer:
        async def put(self, row: dict[str, Any]) -> None:
            if row["data_date"] == date(2025, 7, 1):
                await second_arrived.wait()
            else:
                second_arrived.set()

    async def requests():
        for month in (date(2025, 7, 1), date(2025, 8, 1)):
            yield PageRequest(f"t-{month}", "contratos_atualizacao", month, None, 1)

    async def go() -> None:
        async with PncpClient(fast_settings(replica.url, concurrency=1)) as client:
            await asyncio.wait_for(download(client, scope, requests(), Writer(), "run-1"), timeout=60)

    asyncio.run(go())
    assert second_arrived.is_set()


def test_the_engine_discovers_and_fetches_in_one_stream(db_path: Path, replica_factory, caplog) -> None:
    """Three tasks, two slots: when the first page 1s are answered, one slot takes the third task's
    page 1 and the other the first task's page 2; a discover phase before fetch would idle it."""
    server = replica_factory(latency_ms=300.0)  # a margin of one latency between the two instants
    scope = Scope.from_args("2025-05", "2025-07", ["contratos_atualizacao"])
    with caplog.at_level(logging.INFO, logger="test"):
        result = engine.extract(file_factory(db_path), scope, fast_settings(server.url, concurrency=2), logger=log)
    assert result.complete and result.discovered == 3
    pages = dict(query(db_path, "SELECT data_date, total_pages FROM psa.pncp_extraction_tasks ORDER BY data_date"))
    assert min(pages.values()) > 1
    assert result.pages_requested == result.pages_landed == sum(pages.values()) - 3  # each page once
    rows = query(db_path, "SELECT page, fetched_at, elapsed_ms FROM psa.pncp_raw_responses")
    last_page_one_answered = max(at for page, at, _ in rows if page == 1)
    first_later_page_sent = min(at - timedelta(milliseconds=ms) for page, at, ms in rows if page > 1)
    assert first_later_page_sent < last_page_one_answered
    # progress counts a task's pages from the moment its page 1 announces them
    for month, total in pages.items():
        assert f"contratos_atualizacao {month:%Y-%m}: {total}/{total} pages" in caplog.messages


def test_tasks_adopted_mid_stream_have_each_page_asked_once(db_path: Path, replica_factory) -> None:
    """19 page 1s through one slot outlast the writer's first commit (0.5 s), which makes the first
    tasks FETCHING before the stream lists missing pages (after the 17th page 1): a FETCHING task's
    pages must then come only from the discovery side of the stream, or they are asked twice. At 35
    records a page, the fifth task (modality 12, 36 records) has a page 2 to be asked twice."""
    server = replica_factory(latency_ms=50.0)
    scope = Scope.from_args("2025-07", None, ["contratacoes_publicacao"], page_sizes={"contratacoes_publicacao": 35})
    result = engine.extract(file_factory(db_path), scope, fast_settings(server.url, concurrency=1), logger=log)
    assert result.complete and result.discovered == 19
    asked = [n for q, n in server.stats()["by_query"].items() if "/api/consulta/" in q]
    expected = query(db_path, "SELECT sum(greatest(total_pages, 1)) FROM psa.pncp_extraction_tasks")[0][0]
    assert len(asked) == expected and max(asked) == 1


def test_pages_after_page_one_follow_only_a_landed_page_one_at_its_page_size() -> None:
    """Stream discovery's follow-ups: a data page 1 of 3 pages adds pages 2 and 3 at the size page 1
    was asked with; an empty or failed page 1 adds nothing; the stream ends once all are answered."""
    a, b, c = (PageRequest(f"t{n}", "contratos_atualizacao", date(2025, 7, 1), None, 1) for n in range(3))
    discovered = fetch.Discovered([a, b, c])

    def outcome(response_class: ResponseClass, pages: int | None) -> Outcome:
        return Outcome(response_class, "u", {"pagina": 1, "tamanhoPagina": 10}, total_pages=pages)

    async def answer() -> None:
        for request, answered in ((a, outcome(ResponseClass.DATA, 3)), (b, outcome(ResponseClass.EMPTY, 0)),
                                  (c, outcome(ResponseClass.RETRYABLE, None))):
            await asyncio.sleep(0)  # the stream is already waiting: each answer wakes it
            assert discovered.is_page_one(request)
            discovered.answered(request, answered)
            assert not discovered.is_page_one(request)

    async def go() -> list[PageRequest]:
        answering = asyncio.create_task(answer())
        pages = [request async for request in discovered]
        await answering
        return pages

    pages = asyncio.run(asyncio.wait_for(go(), timeout=10))
    assert [(p.task_id, p.page, p.page_size) for p in pages] == [("t0", 2, 10), ("t0", 3, 10)]


def test_requests_on_the_wire_never_exceed_the_concurrency(db_path: Path, replica_factory) -> None:
    server = replica_factory(latency_ms=20.0)
    scope = Scope.from_args("2025-01", "2025-03", ["contratos_atualizacao"], page_sizes={"contratos_atualizacao": 10})
    factory, settings = file_factory(db_path), fast_settings(server.url, concurrency=3)
    plan.run(factory, scope, settings)
    discover.run(factory, scope, settings, "run-1", log)
    server.reset_stats()
    fetched = fetch.run(factory, scope, settings, "run-1", log)
    assert fetched.requested > 30  # enough pages for every slot to fill many times over
    assert server.stats()["max_in_flight"] == 3


def test_distinct_records_counted_chunk_by_chunk_match_the_keys_landed(db_path: Path, replica, monkeypatch) -> None:
    scope = Scope.from_args("2025-01", "2025-04", ["contratos_atualizacao"], page_sizes={"contratos_atualizacao": 10})
    assert engine.extract(file_factory(db_path), scope, fast_settings(replica.url)).complete
    keys: dict[str, set[str]] = {}
    for task_id, page_keys in query(db_path, "SELECT task_id, record_keys FROM psa.pncp_raw_responses "
                                             "WHERE response_class = 'data'"):
        keys.setdefault(task_id, set()).update(k for k in page_keys if k is not None)
    monkeypatch.setattr(control, "DISTINCT_CHUNK_RECORDS", 25)  # fewer than any task holds
    with open_database(db_path) as conn:
        conn.execute("UPDATE psa.pncp_extraction_tasks SET records_distinct = NULL")
        control.count_distinct_records(conn, scope, conn.execute("SELECT now()").fetchone()[0])
        (chunks,) = conn.execute("SELECT count(DISTINCT chunk) FROM pncp_distinct_tasks").fetchone()
    counted = dict(query(db_path, "SELECT task_id, records_distinct FROM psa.pncp_extraction_tasks"))
    assert chunks == len(counted) > 1  # one chunk per task: each statement counted one task's keys
    assert counted == {task_id: len(keys.get(task_id, ())) for task_id in counted}
