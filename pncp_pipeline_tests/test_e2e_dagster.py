"""End to end through the real product: `dagster dev` (webserver + daemon) over a replica, driven by GraphQL.

Concurrent runs: two runs launched at the same moment (two endpoints, one month each) both succeed;
their DuckDB ops queue for the `duckdb` pool (limit 1) instead of failing on the file's lock, and the
runs' event logs show it: Dagster's "Step blocked by limit for pool duckdb" events, and no step of one
run between the STEP_START and the STEP_SUCCESS of a step of the other.

Backfill, then retry:
1. A partition backfill of 2 endpoints x 3 months finishes in few runs (single-run backfill policy)
   with every task of those endpoint-months COMPLETE.
2. A month whose pages 2 and 3 answer 503 ends PARTIAL; once the replica heals, the retry sensor's
   own run completes it, asking only for the pages that were missing, never for one already landed.

One `dagster dev` (module-scoped) serves both tests; they touch different endpoint-months.
Slow (a real Dagster instance in subprocesses): marked `e2e`; deselect with `-m "not e2e"`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest

from pncp_pipeline.replica import contract as c
from pncp_pipeline.replica.app import Replica, Response
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import TODAY
from pncp_pipeline_tests.dagster_dev import TERMINAL_RUN, DagsterDev, HarnessError, wait_for

pytestmark = pytest.mark.e2e

POOL = "duckdb"
#: Two endpoint-months no other part of this file touches, so both runs really download and write.
CONCURRENT = (("contratos_publicacao", "2025-05-01"), ("atas_atualizacao", "2025-08-01"))
BACKFILL_ENDPOINTS = ("contratos_atualizacao", "atas_atualizacao")
BACKFILL_MONTHS = ("2025-04-01", "2025-05-01", "2025-06-01")
PARTIAL_ENDPOINT, PARTIAL_MONTH = "contratos_atualizacao", "2025-07-01"
FAILING_PAGES = frozenset({2, 3})


class FlakyPagesReplica(Replica):
    """Answers 503 to every list request whose `pagina` is in `failing_pages` (while it is non-empty)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failing_pages: frozenset[int] = frozenset()

    def list_endpoint(self, spec: c.PathContract, params: dict[str, str], *args: Any, **kwargs: Any) -> Response:
        failing = self.failing_pages
        if failing and params.get("pagina", "").isdigit() and int(params["pagina"]) in failing:
            return Response(503, b"", "text/html")
        return super().list_endpoint(spec, params, *args, **kwargs)


# -- small tools --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t0 = self.last = time.monotonic()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        print(f"[e2e {now - self.t0:6.1f}s] {what} (+{now - self.last:.1f}s)", flush=True)
        self.last = now


@contextmanager
def harness_failures(dev: DagsterDev, clock: Clock | None = None) -> Iterator[None]:
    """A harness error (a wait timed out, dagster dev exited, GraphQL refused) fails the test; any failure
    prints the tail of dagster dev's log."""
    try:
        yield
    except HarnessError as e:
        print(f"--- dagster dev log (tail) ---\n{dev.log_tail(120)}")
        pytest.fail(f"{type(e).__name__}: {e}")
    except BaseException:
        print(f"--- dagster dev log (tail) ---\n{dev.log_tail(120)}")
        raise
    finally:
        if clock is not None:
            clock.lap("test body done")


def read_db(db_path: Path, sql: str, params: Any = None, timeout_s: float = 60) -> list[tuple[Any, ...]]:
    """A read-only query that tolerates a run holding the file (DuckDB: one writer or many readers)."""

    def attempt() -> list[tuple[Any, ...]] | None:
        if not db_path.exists():
            return None
        try:
            with duckdb.connect(str(db_path), read_only=True) as conn:
                return conn.execute(sql, params).fetchall()
        except duckdb.Error as e:  # the lock, or a file caught mid-creation
            if "lock" in str(e).lower() or "catalog" in str(e).lower() or "does not exist" in str(e).lower():
                return None
            raise

    return wait_for(f"a read of {db_path.name}", attempt, timeout_s, interval_s=0.25)


def tasks_of(db_path: Path, endpoint: str, months: tuple[str, ...]) -> list[tuple[str, str, str, Any]]:
    return read_db(db_path, "SELECT task_id, strftime(data_date, '%Y-%m-%d'), status, missing_pages "
                            "FROM psa.pncp_extraction_tasks WHERE endpoint_name = ? AND data_date IN "
                            f"({', '.join('?' for _ in months)}) ORDER BY task_id", [endpoint, *months])


def query_key(url: str) -> str:
    """A request URL as the replica's stats key it: path + '?' + sorted `k=v` pairs."""
    parts = urlsplit(url)
    return parts.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))


class StepSpan(NamedTuple):
    run_id: str
    step_key: str
    start_ms: int
    end_ms: int


def step_spans(run_id: str, events: list[dict[str, Any]]) -> list[StepSpan]:
    """Each step of a successful run, from the moment its pool slot was claimed (the executor says
    STEP_WORKER_STARTING right after; STEP_START if it starts no worker) to its STEP_SUCCESS (the slot
    is freed after it)."""
    starts: dict[str, int] = {}
    for e in events:
        if e["eventType"] in ("STEP_WORKER_STARTING", "STEP_START"):
            starts.setdefault(e["stepKey"], e["timestamp"])
    ends = {e["stepKey"]: e["timestamp"] for e in events if e["eventType"] == "STEP_SUCCESS"}
    assert starts.keys() == ends.keys(), f"run {run_id}: started {sorted(starts)}, succeeded {sorted(ends)}"
    return [StepSpan(run_id, key, starts[key], ends[key]) for key in starts]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def flaky_replica() -> Iterator[ReplicaServer]:
    with ReplicaServer(FlakyPagesReplica(seed=1, today=TODAY)) as server:
        yield server


@pytest.fixture(scope="module")
def dagster_dev(flaky_replica: ReplicaServer, workdir: Path) -> Iterator[DagsterDev]:
    env = {
        "PNCP_BASE_URL": flaky_replica.url,
        "PNCP_DUCKDB_PATH": str(workdir / "pncp.duckdb"),
        "PNCP_RATE_PER_S": "500",
        "PNCP_MAX_ATTEMPTS": "2",
        "PNCP_BACKOFF_INITIAL_S": "0.01",
        "PNCP_BACKOFF_MAX_S": "0.05",
        "PNCP_RETRY_SENSOR_INTERVAL_S": "5",
        "PNCP_RETRY_BACKOFF_S": "0",
    }
    dev = DagsterDev(workdir / "dagster_home", env, workdir / "dagster-dev.log")
    try:
        clock = Clock()
        dev.start()
        with harness_failures(dev):
            dev.wait_ready()
        clock.lap("dagster dev up, code location loaded")
        yield dev
    finally:
        dev.stop()


def test_concurrent_runs_queue_for_the_duckdb_pool(dagster_dev: DagsterDev) -> None:
    dev = dagster_dev
    clock = Clock()
    with harness_failures(dev, clock):
        assert dev.pool_config() == {"poolGranularity": "op", "defaultPoolLimit": 1}, dev.pool_config()
        # Both launchRun mutations in flight at once: the runs start together and contend for the pool.
        with ThreadPoolExecutor(len(CONCURRENT)) as launcher:
            run_ids = list(launcher.map(lambda job: dev.launch_run(*job), CONCURRENT))
        statuses = [dev.wait_run(run_id, timeout_s=150) for run_id in run_ids]
        clock.lap(f"runs {[(r[:8], s) for r, s in zip(run_ids, statuses)]}")
        assert statuses == ["SUCCESS"] * len(run_ids), dict(zip(run_ids, statuses))

        events = {run_id: dev.run_events(run_id) for run_id in run_ids}
        spans = {run_id: step_spans(run_id, events[run_id]) for run_id in run_ids}
        for (endpoint, _), run_id in zip(CONCURRENT, run_ids):
            # the asset's four ops and its checks: every one of them opens DuckDB, in the pool
            ops = {span.step_key.rsplit(".", 1)[-1] for span in spans[run_id]}
            assert ops == {f"{endpoint}__{op}" for op in ("plan", "discover", "fetch", "reconcile", "checks")}, ops

        def first(run_id: str, event_type: str) -> int:
            return next(e["timestamp"] for e in events[run_id] if e["eventType"] == event_type)

        # The runs were in progress at the same time...
        started = max(first(run_id, "RUN_START") for run_id in run_ids)
        assert started < min(first(run_id, "RUN_SUCCESS") for run_id in run_ids), "the runs did not overlap"
        # ...so steps waited for the slot, as Dagster's engine events in the waiting run say...
        blocked = [(run_id[:8], e["stepKey"], e["message"]) for run_id in run_ids for e in events[run_id]
                   if e["eventType"] == "ENGINE_EVENT" and "blocked by limit for pool" in e["message"]]
        assert blocked, "no step of either run waited for a pool slot: the runs never contended"
        assert all(message.endswith(f"pool {POOL}") for *_, message in blocked), blocked
        # ...and no op of one run ran while one of the other did.
        timeline = sorted((s for run_spans in spans.values() for s in run_spans), key=lambda s: s.start_ms)
        overlaps = [(a, b) for i, a in enumerate(timeline) for b in timeline[i + 1:]
                    if a.run_id != b.run_id and b.start_ms < a.end_ms]
        assert not overlaps, f"steps of different runs overlapped: {overlaps}"
        clock.lap(f"{len(timeline)} steps, none overlapping; {len(blocked)} 'blocked by limit for pool' event(s); "
                  "order: " + ", ".join(f"{s.run_id[:4]}:{s.step_key.rsplit('__', 1)[-1]}" for s in timeline))


def test_backfill_then_retry_sensor_heals_a_partial_month(
        dagster_dev: DagsterDev, flaky_replica: ReplicaServer, workdir: Path) -> None:
    dev, replica = dagster_dev, flaky_replica
    assert isinstance(replica.replica, FlakyPagesReplica)
    db_path = workdir / "pncp.duckdb"
    clock = Clock()
    with harness_failures(dev, clock):
        # -- 1. a 2 endpoints x 3 months backfill: few runs, every task COMPLETE ----------------
        backfill_id = dev.launch_backfill(BACKFILL_ENDPOINTS, BACKFILL_MONTHS)

        def backfill_runs_done() -> list[dict[str, Any]] | None:
            dev.alive()
            runs = dev.runs("dagster/backfill", backfill_id)
            return runs if runs and all(r["status"] in TERMINAL_RUN for r in runs) else None

        # The backfill daemon ticks every 30 s (fixed): it submits the run on one tick and marks the
        # backfill done on a later one. Its runs are watched instead, and the final status is read
        # after part 2, which does not need it.
        runs = wait_for(f"the runs of backfill {backfill_id}", backfill_runs_done, timeout_s=150, interval_s=1)
        clock.lap(f"backfill {backfill_id}: {len(runs)} run(s) {[r['status'] for r in runs]}")
        assert all(r["status"] == "SUCCESS" for r in runs), runs
        for endpoint in BACKFILL_ENDPOINTS:
            tasks = tasks_of(db_path, endpoint, BACKFILL_MONTHS)
            assert {t[1] for t in tasks} == set(BACKFILL_MONTHS), (endpoint, tasks)
            assert all(t[2] == "COMPLETE" for t in tasks), (endpoint, tasks)

        # -- 2. pages 2 and 3 answer 503: the month ends PARTIAL -------------------------------
        replica.replica.failing_pages = FAILING_PAGES
        run_id = dev.launch_run(PARTIAL_ENDPOINT, PARTIAL_MONTH)

        def partial_task() -> tuple[str, str, str, Any] | None:
            dev.alive()
            tasks = tasks_of(db_path, PARTIAL_ENDPOINT, (PARTIAL_MONTH,))
            return tasks[0] if tasks and tasks[0][2] == "PARTIAL" else None

        # Only reconcile writes PARTIAL, after fetch has asked for everything: heal the replica at
        # once, before the retry sensor (5 s ticks, no backoff) has launched its run.
        task_id, *_ = wait_for("the month to end PARTIAL", partial_task, timeout_s=120)
        asked_before: dict[str, int] = replica.stats()["by_query"]
        replica.reset_stats()
        replica.replica.failing_pages = frozenset()
        clock.lap(f"{task_id} PARTIAL; replica healed, its stats reset")
        landed = read_db(db_path, "SELECT page, request_url FROM psa.pncp_raw_responses "
                                  "WHERE task_id = ? AND response_class IN ('data', 'empty') ORDER BY page", [task_id])
        total_pages = read_db(db_path, "SELECT total_pages FROM psa.pncp_extraction_tasks WHERE task_id = ?",
                              [task_id])[0][0]
        assert total_pages >= 4, f"{PARTIAL_ENDPOINT} {PARTIAL_MONTH} has {total_pages} pages; the test needs >= 4"
        landed_pages = {page for page, _ in landed}
        assert landed_pages == set(range(1, total_pages + 1)) - FAILING_PAGES, landed_pages
        landed_keys = {query_key(url) for _, url in landed}
        # the keys really are the replica's: the "never asked again" check below cannot pass vacuously
        assert landed_keys <= asked_before.keys(), (landed_keys, sorted(asked_before))
        status = dev.wait_run(run_id, timeout_s=60)
        assert status == "SUCCESS", status  # a PARTIAL month is a state of the data, not a failed run
        clock.lap(f"run {run_id[:8]}: {status}; landed pages {sorted(landed_pages)} of {total_pages}")

        status = dev.wait_backfill(backfill_id, timeout_s=60)
        runs = dev.runs("dagster/backfill", backfill_id)
        clock.lap(f"backfill {backfill_id}: {status}")
        assert status in ("COMPLETED_SUCCESS", "COMPLETED"), (status, runs)
        assert 1 <= len(runs) <= 2, f"single-run policy: expected 1-2 runs for 6 partitions, got {len(runs)}"

        # -- 3. the retry sensor's run completes it, asking only for the missing pages ---------
        def healed() -> list[dict[str, Any]] | None:
            dev.alive()
            runs = dev.runs("dagster/sensor_name", "retry_sensor")
            if not runs or any(r["status"] not in TERMINAL_RUN for r in runs):
                return None
            if not any(r["status"] == "SUCCESS" for r in runs):
                return None
            return runs if tasks_of(db_path, PARTIAL_ENDPOINT, (PARTIAL_MONTH,))[0][2] == "COMPLETE" else None

        retry_runs = wait_for("the retry sensor's run to complete the month", healed, timeout_s=180, interval_s=1)
        clock.lap(f"retry sensor run(s) {[(r['run_id'][:8], r['status']) for r in retry_runs]}: COMPLETE")
        assert all(r["tags"].get("dagster/partition") == PARTIAL_MONTH for r in retry_runs), retry_runs

        by_query: dict[str, int] = replica.stats()["by_query"]
        asked_again = {k: n for k, n in by_query.items() if k in landed_keys}
        assert not asked_again, f"landed pages were requested again: {asked_again}"
        endpoint_path = next(iter(landed_keys)).split("?")[0]
        asked = {int(dict(parse_qsl(k.split("?", 1)[1]))["pagina"]) for k in by_query if k.startswith(endpoint_path)}
        assert asked == set(FAILING_PAGES), f"pages asked for by the retry: {sorted(asked)}"
        final = read_db(db_path, "SELECT DISTINCT page FROM psa.pncp_raw_responses "
                                 "WHERE task_id = ? AND response_class = 'data' ORDER BY page", [task_id])
        assert [p for (p,) in final] == list(range(1, total_pages + 1)), final
