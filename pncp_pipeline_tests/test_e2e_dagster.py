"""End to end through the real product: `dagster dev` (webserver + daemon) over a replica, driven by GraphQL.

1. A partition backfill of 2 endpoints x 3 months finishes in few runs (single-run backfill policy)
   with every task of those endpoint-months COMPLETE.
2. A month whose pages 2 and 3 answer 503 ends PARTIAL; once the replica heals, the retry sensor's
   own run completes it, asking only for the pages that were missing, never for one already landed.

Slow (a real Dagster instance in subprocesses): marked `e2e`; deselect with `-m "not e2e"`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import duckdb
import httpx
import pytest

from pncp_pipeline.replica import contract as c
from pncp_pipeline.replica.app import Replica, Response
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import TODAY

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
BACKFILL_ENDPOINTS = ("contratos_atualizacao", "atas_atualizacao")
BACKFILL_MONTHS = ("2025-04-01", "2025-05-01", "2025-06-01")
PARTIAL_ENDPOINT, PARTIAL_MONTH = "contratos_atualizacao", "2025-07-01"
FAILING_PAGES = frozenset({2, 3})
TERMINAL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
TERMINAL_RUN = {"SUCCESS", "FAILURE", "CANCELED"}

#: dagster dev maps SIGTERM to SIGINT's handler: it must not inherit an ignored SIGINT (as background
#: jobs of non-interactive shells do), or it would ignore SIGTERM too.
RESET_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execvp(sys.argv[1], sys.argv[1:])")

T = TypeVar("T")


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, interval_s: float = 0.5) -> T:
    """Call `probe` until it returns something other than None/False; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


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


# -- the product, as a user starts it -----------------------------------------------------------


class DagsterDev:
    """`dagster dev` in its own process group, with its own DAGSTER_HOME; GraphQL over HTTP."""

    def __init__(self, home: Path, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home, self.env, self.log_path = home, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.location = ""
        self.http = httpx.Client(timeout=30)

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        dagster = Path(sys.executable).with_name("dagster")
        cmd = [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]
        cmd += ["dev", "-m", "pncp_pipeline.definitions", "-h", "127.0.0.1", "-p", str(self.port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PNCP_", "DAGSTER_"))}
        env |= self.env | {"DAGSTER_HOME": str(self.home.resolve())}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", RESET_SIGINT, *cmd], cwd=REPO, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"dagster dev exited with {self.proc.returncode}:\n{self.log_tail()}")

    def wait_ready(self, timeout_s: float = 120) -> None:
        def webserver_up() -> bool:
            self.alive()
            try:
                return self.http.get(f"{self.url}/server_info", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("the webserver's /server_info", webserver_up, timeout_s)

        def location_loaded() -> bool:
            self.alive()
            data = self.gql("{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus"
                            " locationOrLoadError { __typename ... on PythonError { message } } } } } }")
            entries = data["workspaceOrError"].get("locationEntries") or []
            for entry in entries:
                error = entry["locationOrLoadError"] or {}
                if error.get("__typename") == "PythonError":
                    pytest.fail(f"code location {entry['name']} failed to load: {error['message']}")
            if not entries or not all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                return False
            self.location = entries[0]["name"]
            return True

        wait_for("the code location to load", location_loaded, timeout_s)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM to the whole process group, then SIGKILL to whatever is left of it."""
        self.http.close()
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        # the webserver, daemon, code servers and run workers share the group, even if dagster dev is gone
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    # -- GraphQL: backfills and runs ------------------------------------------------------------

    def launch_backfill(self, endpoints: tuple[str, ...], months: tuple[str, ...]) -> str:
        data = self.gql(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) {
                   __typename
                   ... on LaunchBackfillSuccess { backfillId }
                   ... on Error { message }
                 }
               }""",
            {"params": {"assetSelection": [{"path": ["pncp", e]} for e in endpoints],
                        "partitionNames": list(months)}})
        result = data["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        data = self.gql("""query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                             __typename ... on PartitionBackfill { status } ... on Error { message } } }""",
                        {"id": backfill_id})
        result = data["partitionBackfillOrError"]
        assert result["__typename"] == "PartitionBackfill", result
        return result["status"]

    def wait_backfill(self, backfill_id: str, timeout_s: float) -> str:
        def done() -> str | None:
            self.alive()
            status = self.backfill_status(backfill_id)
            return status if status in TERMINAL_BACKFILL else None

        return wait_for(f"backfill {backfill_id} to finish", done, timeout_s, interval_s=1)

    def launch_run(self, endpoint: str, partition: str) -> str:
        """One partition of one asset, as the UI's "Materialize" does (no backfill daemon in the way)."""
        data = self.gql(
            """mutation($params: ExecutionParams!) {
                 launchRun(executionParams: $params) {
                   __typename
                   ... on LaunchRunSuccess { run { runId } }
                   ... on Error { message }
                 }
               }""",
            {"params": {"selector": {"repositoryLocationName": self.location, "repositoryName": "__repository__",
                                     "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["pncp", endpoint]}]},
                        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}})
        result = data["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        data = self.gql("""query($id: ID!) { runOrError(runId: $id) {
                             __typename ... on Run { status } ... on Error { message } } }""", {"id": run_id})
        result = data["runOrError"]
        assert result["__typename"] == "Run", result
        return result["status"]

    def wait_run(self, run_id: str, timeout_s: float) -> str:
        def done() -> str | None:
            self.alive()
            status = self.run_status(run_id)
            return status if status in TERMINAL_RUN else None

        return wait_for(f"run {run_id} to finish", done, timeout_s, interval_s=1)

    def runs(self, tag_key: str, tag_value: str) -> list[dict[str, Any]]:
        data = self.gql("""query($filter: RunsFilter) { runsOrError(filter: $filter) {
                             __typename ... on Runs { results { runId status tags { key value } } }
                             ... on Error { message } } }""",
                        {"filter": {"tags": [{"key": tag_key, "value": tag_value}]}})
        result = data["runsOrError"]
        assert result["__typename"] == "Runs", result
        return [{"run_id": r["runId"], "status": r["status"], "tags": {t["key"]: t["value"] for t in r["tags"]}}
                for r in result["results"]]


@pytest.fixture
def flaky_replica() -> Iterator[ReplicaServer]:
    with ReplicaServer(FlakyPagesReplica(seed=1, today=TODAY)) as server:
        yield server


@pytest.fixture
def dagster_dev(flaky_replica: ReplicaServer, tmp_path: Path) -> Iterator[DagsterDev]:
    env = {
        "PNCP_BASE_URL": flaky_replica.url,
        "PNCP_DUCKDB_PATH": str(tmp_path / "pncp.duckdb"),
        "PNCP_RATE_PER_S": "500",
        "PNCP_MAX_ATTEMPTS": "2",
        "PNCP_BACKOFF_INITIAL_S": "0.01",
        "PNCP_BACKOFF_MAX_S": "0.05",
        "PNCP_RETRY_SENSOR_INTERVAL_S": "5",
        "PNCP_RETRY_BACKOFF_S": "0",
    }
    dev = DagsterDev(tmp_path / "dagster_home", env, tmp_path / "dagster-dev.log")
    try:
        dev.start()
        yield dev
    finally:
        dev.stop()


def test_backfill_then_retry_sensor_heals_a_partial_month(
        dagster_dev: DagsterDev, flaky_replica: ReplicaServer, tmp_path: Path) -> None:
    dev, replica = dagster_dev, flaky_replica
    assert isinstance(replica.replica, FlakyPagesReplica)
    db_path = tmp_path / "pncp.duckdb"
    clock = Clock()
    try:
        dev.wait_ready()
        clock.lap("dagster dev up, code location loaded")

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
    except BaseException:
        print(f"--- dagster dev log (tail) ---\n{dev.log_tail(120)}")
        raise
    finally:
        clock.lap("test body done")
