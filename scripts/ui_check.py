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
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python scripts/ui_check.py` puts scripts/, not the repo, on the path
    sys.path.insert(0, str(REPO))

from pncp_pipeline.endpoints import enabled_endpoints  # noqa: E402
from pncp_pipeline_tests.dagster_dev import (  # noqa: E402
    ASSET_PREFIX,
    DagsterDev,
    HarnessError,
    ProcessGroup,
    answers,
    clean_environ,
    free_port,
    venv_command,
    wait_for,
)

CHROMIUM = "/usr/bin/chromium"
ENDPOINT = "contratos_atualizacao"
PARTITION = "2025-06-01"
GROUP = ASSET_PREFIX


class CheckFailed(HarnessError):
    pass


def log(message: str, t0: float = time.monotonic()) -> None:
    print(f"[ui-check {time.monotonic() - t0:6.1f}s] {message}", flush=True)


def materialize(dagster: DagsterDev, endpoint: str, partition: str, timeout_s: float) -> str:
    run_id = dagster.launch_run(endpoint, partition)
    status = dagster.wait_run(run_id, timeout_s)
    if status != "SUCCESS":
        raise CheckFailed(f"run {run_id} of {endpoint} {partition} ended {status}:\n{dagster.log_tail(80)}")
    return run_id


def browse(dagster: DagsterDev, out: Path, timeout_s: float) -> list[str]:
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
    stop: list[ProcessGroup | DagsterDev] = []
    failed = True
    try:
        api_port = free_port()
        replica = ProcessGroup("the replica", [*venv_command("pncp-pipeline", "pncp_pipeline.cli"), "fake-api",
                                               "--port", str(api_port)], clean_environ(), tmp / "replica.log")
        stop.append(replica)
        replica.start()
        api_url = f"http://127.0.0.1:{api_port}"

        with httpx.Client() as client:
            def replica_up() -> bool:
                replica.check_alive()
                return answers(client, f"{api_url}/_replica/stats")

            wait_for("the replica", replica_up, 30)
        log(f"replica on {api_url}")

        dagster = DagsterDev(tmp / "dagster_home", {
            "PNCP_BASE_URL": api_url, "PNCP_DUCKDB_PATH": str(tmp / "pncp.duckdb"),
            "PNCP_RATE_PER_S": "200", "PNCP_MAX_ATTEMPTS": "3", "PNCP_BACKOFF_INITIAL_S": "0.05",
            "PNCP_BACKOFF_MAX_S": "0.5",
        }, tmp / "dagster-dev.log")
        stop.append(dagster)
        dagster.start()
        dagster.wait_ready(args.timeout)
        log(f"dagster dev on {dagster.url}, code location {dagster.location!r} loaded")

        run_id = materialize(dagster, ENDPOINT, PARTITION, args.timeout)
        log(f"materialized {GROUP}/{ENDPOINT} {PARTITION} (run {run_id})")

        failures = browse(dagster, args.out, min(args.timeout, 60))
        for failure in failures:
            print(f"ui-check: FAIL {failure}", file=sys.stderr)
        failed = bool(failures)
        log("all checks passed" if not failed else f"{len(failures)} check(s) failed")
    except HarnessError as e:
        print(f"ui-check: FAIL {e}", file=sys.stderr)
    finally:
        for process in reversed(stop):
            process.stop()
        log("stopped dagster dev and the replica")
        if failed or args.keep:
            print(f"ui-check: logs and state kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
