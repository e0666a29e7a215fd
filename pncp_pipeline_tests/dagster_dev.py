"""The product as a user starts it, for the e2e test and `make ui-check`: `dagster dev` in its own process
group over a throwaway DAGSTER_HOME (a copy of dagster_home/dagster.yaml), driven through the webserver's
GraphQL API.

Everything that goes wrong here raises `HarnessError`: `WaitTimeout` when something did not happen in
time, the base class when a process exited, the code location failed to load or GraphQL answered an
error. pytest turns them into failures; `scripts/ui_check.py` into a FAIL line. No pytest import here:
the script runs without it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

REPO = Path(__file__).resolve().parents[1]
ASSET_PREFIX = "pncp"
TERMINAL_RUN = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
TERMINAL_BACKFILL = frozenset({"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"})

#: dagster dev maps SIGTERM to SIGINT's handler: a child must not inherit an ignored SIGINT (as
#: background jobs of non-interactive shells do), or it would ignore SIGTERM too.
RESET_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execvp(sys.argv[1], sys.argv[1:])")

T = TypeVar("T")


class HarnessError(Exception):
    """The product did not behave: a process exited, a code location failed to load, GraphQL said no."""


class WaitTimeout(HarnessError):
    """Something waited for did not happen in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, interval_s: float = 0.5) -> T:
    """Call `probe` until it returns something other than None/False; `WaitTimeout` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


def clean_environ() -> dict[str, str]:
    """This process's environment without the settings the children get explicitly (PNCP_*, DAGSTER_*)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PNCP_", "DAGSTER_"))}


def answers(client: httpx.Client, url: str, timeout_s: float = 2) -> bool:
    """`url` answers 200 (False while nothing listens yet)."""
    try:
        return client.get(url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def venv_command(name: str, module: str) -> list[str]:
    """The console script `name` next to this interpreter, else `python -m module`."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


class ProcessGroup:
    """A child in its own session (process group), output to a log; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.cmd, self.env, self.log_path = name, cmd, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", RESET_SIGINT, *self.cmd], cwd=REPO, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def check_alive(self) -> None:
        if self.proc is None:
            raise HarnessError(f"{self.name} was never started")
        if self.proc.poll() is not None:
            raise HarnessError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM to the whole group, then SIGKILL to whatever is left of it (children outlive the leader)."""
        if self.proc is None:
            return
        for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                pass


class DagsterDev:
    """`dagster dev -m pncp_pipeline.definitions` with its own DAGSTER_HOME and `env`; GraphQL over HTTP."""

    def __init__(self, home: Path, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        cmd = [*venv_command("dagster", "dagster"),
               "dev", "-m", "pncp_pipeline.definitions", "-h", "127.0.0.1", "-p", str(self.port)]
        full_env = clean_environ() | env | {"DAGSTER_HOME": str(home.resolve())}
        self.group = ProcessGroup("dagster dev", cmd, full_env, log_path)
        self.location = ""
        self.http = httpx.Client(timeout=30)

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        self.group.start()

    def alive(self) -> None:
        self.group.check_alive()

    def log_tail(self, lines: int = 60) -> str:
        return self.group.log_tail(lines)

    def stop(self) -> None:
        self.http.close()
        self.group.stop()

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}})
        if response.status_code != 200:
            raise HarnessError(f"GraphQL answered HTTP {response.status_code}: {response.text[:300]!r}")
        body = response.json()
        if body.get("errors"):
            raise HarnessError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def _result(self, data: dict[str, Any], field: str, typename: str) -> dict[str, Any]:
        result = data[field]
        if result["__typename"] != typename:
            raise HarnessError(f"{field}: expected {typename}, got {result}")
        return result

    def _wait_final(self, what: str, status: Callable[[], str], final: frozenset[str], timeout_s: float) -> str:
        """Poll `status` each second until it is one of `final` (while dagster dev lives)."""

        def done() -> str | None:
            self.alive()
            value = status()
            return value if value in final else None

        return wait_for(f"{what} to finish", done, timeout_s, interval_s=1)

    def wait_ready(self, timeout_s: float = 120) -> None:
        """The webserver answers and the code location is loaded (its name is kept in `location`)."""

        def webserver_up() -> bool:
            self.alive()
            return answers(self.http, f"{self.url}/server_info")

        wait_for("the webserver's /server_info", webserver_up, timeout_s)

        def location_loaded() -> bool:
            self.alive()
            data = self.gql("{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus"
                            " locationOrLoadError { __typename ... on PythonError { message } } } } } }")
            entries = data["workspaceOrError"].get("locationEntries") or []
            for entry in entries:
                error = entry["locationOrLoadError"] or {}
                if error.get("__typename") == "PythonError":
                    raise HarnessError(f"code location {entry['name']} failed to load: {error['message']}")
            if not entries or not all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                return False
            self.location = entries[0]["name"]
            return True

        wait_for("the code location to load", location_loaded, timeout_s)

    def pool_config(self) -> dict[str, Any]:
        """The instance's pool settings as the webserver read them from dagster.yaml."""
        return self.gql("{ instance { poolConfig { poolGranularity defaultPoolLimit } } }")["instance"]["poolConfig"]

    # -- runs -------------------------------------------------------------------------------------

    def launch_run(self, endpoint: str, partition: str) -> str:
        """One partition of one endpoint asset, as the UI's "Materialize" does (no backfill daemon in the way)."""
        data = self.gql(
            """mutation($params: ExecutionParams!) {
                 launchRun(executionParams: $params) {
                   __typename
                   ... on LaunchRunSuccess { run { runId } }
                   ... on Error { message }
                 }
               }""",
            {"params": {"selector": {"repositoryLocationName": self.location, "repositoryName": "__repository__",
                                     "jobName": "__ASSET_JOB", "assetSelection": [{"path": [ASSET_PREFIX, endpoint]}]},
                        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}})
        return self._result(data, "launchRun", "LaunchRunSuccess")["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        data = self.gql("""query($id: ID!) { runOrError(runId: $id) {
                             __typename ... on Run { status } ... on Error { message } } }""", {"id": run_id})
        return self._result(data, "runOrError", "Run")["status"]

    def wait_run(self, run_id: str, timeout_s: float) -> str:
        """The run's final status (SUCCESS, FAILURE or CANCELED)."""
        return self._wait_final(f"run {run_id}", lambda: self.run_status(run_id), TERMINAL_RUN, timeout_s)

    def runs(self, tag_key: str, tag_value: str) -> list[dict[str, Any]]:
        data = self.gql("""query($filter: RunsFilter) { runsOrError(filter: $filter) {
                             __typename ... on Runs { results { runId status tags { key value } } }
                             ... on Error { message } } }""",
                        {"filter": {"tags": [{"key": tag_key, "value": tag_value}]}})
        return [{"run_id": r["runId"], "status": r["status"], "tags": {t["key"]: t["value"] for t in r["tags"]}}
                for r in self._result(data, "runsOrError", "Runs")["results"]]

    def run_events(self, run_id: str, page: int = 500) -> list[dict[str, Any]]:
        """Every event of the run, oldest first: eventType, stepKey, message and timestamp (epoch ms, int)."""
        events: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            data = self.gql(
                """query($id: ID!, $cursor: String, $limit: Int) {
                     logsForRun(runId: $id, afterCursor: $cursor, limit: $limit) {
                       __typename
                       ... on EventConnection {
                         events { __typename ... on MessageEvent { eventType stepKey message timestamp } }
                         cursor hasMore
                       }
                       ... on Error { message }
                     }
                   }""", {"id": run_id, "cursor": cursor, "limit": page})
            result = self._result(data, "logsForRun", "EventConnection")
            events += [e | {"timestamp": int(e["timestamp"])} for e in result["events"] if "timestamp" in e]
            if not result["hasMore"]:
                return events
            cursor = result["cursor"]

    # -- backfills --------------------------------------------------------------------------------

    def launch_backfill(self, endpoints: tuple[str, ...], months: tuple[str, ...]) -> str:
        data = self.gql(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) {
                   __typename
                   ... on LaunchBackfillSuccess { backfillId }
                   ... on Error { message }
                 }
               }""",
            {"params": {"assetSelection": [{"path": [ASSET_PREFIX, e]} for e in endpoints],
                        "partitionNames": list(months)}})
        return self._result(data, "launchPartitionBackfill", "LaunchBackfillSuccess")["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        data = self.gql("""query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                             __typename ... on PartitionBackfill { status } ... on Error { message } } }""",
                        {"id": backfill_id})
        return self._result(data, "partitionBackfillOrError", "PartitionBackfill")["status"]

    def wait_backfill(self, backfill_id: str, timeout_s: float) -> str:
        return self._wait_final(f"backfill {backfill_id}", lambda: self.backfill_status(backfill_id),
                                TERMINAL_BACKFILL, timeout_s)
