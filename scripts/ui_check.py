"""`make ui-check`: the Dagster UI, seen by a real browser, shows the pipeline's assets and partitions.

Starts the local PNCP replica (`pncp-pipeline fake-api`) and the product (`dagster dev`, with a
throwaway DAGSTER_HOME holding a copy of dagster_home/dagster.yaml and a throwaway DuckDB file),
materializes one partition through the webserver's GraphQL API, then drives headless Chromium
(Debian's /usr/bin/chromium through Playwright; no browser is downloaded) over the asset graph and
one asset's partitions page, checks the expected text is on screen and saves screenshots to
docs/screenshots/. Exits 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pncp_pipeline.endpoints import enabled_endpoints

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ENDPOINT = "contratos_atualizacao"
PARTITION = "2025-06-01"
GROUP = "pncp"
#: dagster dev maps SIGTERM to SIGINT's handler: a child must not inherit an ignored SIGINT (as
#: background jobs of non-interactive shells do), or SIGTERM would be ignored too.
RESET_SIGINT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execvp(sys.argv[1], sys.argv[1:])")

T = TypeVar("T")


class CheckFailed(Exception):
    pass


def log(message: str, t0: float = time.monotonic()) -> None:
    print(f"[ui-check {time.monotonic() - t0:6.1f}s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, interval_s: float = 0.5) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


def http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


class Group:
    """A child process in its own session (process group), stopped with SIGTERM then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-c", RESET_SIGINT, *cmd], cwd=REPO, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise CheckFailed(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait_s)
            except subprocess.TimeoutExpired:
                pass


class Dagster:
    def __init__(self, group: Group, url: str) -> None:
        self.group, self.url = group, url
        self.location = ""

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        status, body = http("POST", f"{self.url}/graphql", {"query": query, "variables": variables or {}})
        if status != 200:
            raise CheckFailed(f"GraphQL answered HTTP {status}: {body[:300]!r}")
        payload = json.loads(body)
        if payload.get("errors"):
            raise CheckFailed(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_ready(self, timeout_s: float) -> None:
        def up() -> bool:
            self.group.check_alive()
            return http("GET", f"{self.url}/server_info", timeout=2)[0] == 200

        wait_for("the Dagster webserver", up, timeout_s)

        def loaded() -> bool:
            self.group.check_alive()
            entries = self.gql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                               "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
                               )["workspaceOrError"].get("locationEntries") or []
            for entry in entries:
                if (entry["locationOrLoadError"] or {}).get("__typename") == "PythonError":
                    raise CheckFailed(f"code location failed to load: {entry['locationOrLoadError']['message']}")
            if entries and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"] for e in entries):
                self.location = entries[0]["name"]
                return True
            return False

        wait_for("the code location to load", loaded, timeout_s)

    def materialize(self, endpoint: str, partition: str, timeout_s: float) -> str:
        result = self.gql(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                 __typename ... on LaunchRunSuccess { run { runId } } ... on Error { message } } }""",
            {"params": {"selector": {"repositoryLocationName": self.location, "repositoryName": "__repository__",
                                     "jobName": "__ASSET_JOB", "assetSelection": [{"path": [GROUP, endpoint]}]},
                        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]}}}
        )["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise CheckFailed(f"launchRun failed: {result}")
        run_id = result["run"]["runId"]

        def finished() -> str | None:
            self.group.check_alive()
            status = self.gql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                              {"id": run_id})["runOrError"].get("status")
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        status = wait_for(f"run {run_id}", finished, timeout_s, interval_s=1)
        if status != "SUCCESS":
            raise CheckFailed(f"run {run_id} of {endpoint} {partition} ended {status}:\n{self.group.tail(80)}")
        return run_id


def browse(dagster: Dagster, out: Path, timeout_s: float) -> list[str]:
    """Visit the pages, check their text, save screenshots; returns the failures."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    # The first visit to a new instance opens a "Join the Dagster community" dialog over everything;
    # this is what its Skip button does.
    dagster.gql("mutation { setNuxSeen }")
    assets = [e.name for e in enabled_endpoints()]
    failures: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    timeout_ms = timeout_s * 1000
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            def visit(path: str, viewport: tuple[int, int], texts: list[str | re.Pattern[str]], shot: str) -> None:
                page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
                page.set_default_timeout(timeout_ms)
                page.goto(f"{dagster.url}{path}", wait_until="domcontentloaded")
                for text in texts:
                    try:
                        expect(page.get_by_text(text, exact=isinstance(text, str)).first).to_be_visible(
                            timeout=timeout_ms)
                    except (AssertionError, PlaywrightError) as e:
                        failures.append(f"{path}: {text!r} not visible ({str(e).splitlines()[0]})")
                page.wait_for_timeout(1000)  # let the graph's layout settle for the picture
                page.screenshot(path=str(out / shot))
                log(f"{path}: {len(texts)} text check(s), screenshot {out / shot}")
                page.close()

            # The group's lineage: every endpoint asset, and the materialized one with all its checks passed.
            # (Tall viewport: the assets have no edges, the graph is one column of nodes.)
            visit(f"/locations/{dagster.location}/asset-groups/{GROUP}", (1400, 1700),
                  [*assets, re.compile(r"\b([1-9]\d*)\s*/\s*\1 Passed")], "asset-graph.png")
            # One asset's partitions, the materialized month selected: its metadata from reconcile.
            visit(f"/assets/{GROUP}/{ENDPOINT}?view=partitions&partition={PARTITION}", (1600, 1100),
                  [ENDPOINT, PARTITION, "Materialized (1)", "tasks_complete", "COMPLETE"], "partitions.png")
        finally:
            browser.close()
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="where screenshots go")
    parser.add_argument("--timeout", type=float, default=180, help="seconds allowed for each wait (default 180)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME, DuckDB and logs")
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        print(f"ui-check: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="pncp-ui-check-"))
    bin_dir = Path(sys.executable).parent
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PNCP_", "DAGSTER_"))}
    groups: list[Group] = []
    failed = True
    try:
        api_port = free_port()
        replica = Group("the replica", [str(bin_dir / "pncp-pipeline"), "fake-api", "--port", str(api_port)],
                        base_env, tmp / "replica.log")
        groups.append(replica)
        api_url = f"http://127.0.0.1:{api_port}"

        def replica_up() -> bool:
            replica.check_alive()
            return http("GET", f"{api_url}/_replica/stats", timeout=2)[0] == 200

        wait_for("the replica", replica_up, 30)
        log(f"replica on {api_url}")

        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
        web_port = free_port()
        env = base_env | {
            "DAGSTER_HOME": str(home), "PNCP_BASE_URL": api_url, "PNCP_DUCKDB_PATH": str(tmp / "pncp.duckdb"),
            "PNCP_RATE_PER_S": "200", "PNCP_MAX_ATTEMPTS": "3", "PNCP_BACKOFF_INITIAL_S": "0.05",
            "PNCP_BACKOFF_MAX_S": "0.5",
        }
        dagster_bin = bin_dir / "dagster"
        cmd = [str(dagster_bin)] if dagster_bin.exists() else [sys.executable, "-m", "dagster"]
        cmd += ["dev", "-m", "pncp_pipeline.definitions", "-h", "127.0.0.1", "-p", str(web_port)]
        dagster = Dagster(Group("dagster dev", cmd, env, tmp / "dagster-dev.log"), f"http://127.0.0.1:{web_port}")
        groups.append(dagster.group)
        dagster.wait_ready(args.timeout)
        log(f"dagster dev on {dagster.url}, code location {dagster.location!r} loaded")

        run_id = dagster.materialize(ENDPOINT, PARTITION, args.timeout)
        log(f"materialized {GROUP}/{ENDPOINT} {PARTITION} (run {run_id})")

        failures = browse(dagster, args.out, min(args.timeout, 60))
        for failure in failures:
            print(f"ui-check: FAIL {failure}", file=sys.stderr)
        failed = bool(failures)
        log("all checks passed" if not failed else f"{len(failures)} check(s) failed")
    except CheckFailed as e:
        print(f"ui-check: FAIL {e}", file=sys.stderr)
    finally:
        for group in reversed(groups):
            group.stop()
        log("stopped dagster dev and the replica")
        if failed or args.keep:
            print(f"ui-check: logs and state kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
