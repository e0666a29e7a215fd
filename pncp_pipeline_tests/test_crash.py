"""kill -9 in the middle of fetch: the next run finishes exactly, never asking for a landed page again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests.conftest import TODAY
from pncp_pipeline_tests.helpers import query
from pncp_pipeline_tests.test_cli import FAST


class CountingReplica(Replica):
    """Sets an event once `after` requests of page 2 or later were answered: we are inside fetch."""

    def __init__(self, after: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.after = after
        self.fetching = threading.Event()
        self._seen = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await super().__call__(scope, receive, send)
        if scope["type"] == "http" and b"pagina=1&" not in scope.get("query_string", b"") + b"&" \
                and scope["path"].startswith("/api/consulta"):
            self._seen += 1
            if self._seen >= self.after:
                self.fetching.set()


def landed_pages(db: Path) -> set[tuple[str, int]]:
    rows = query(db, "SELECT task_id, page FROM psa.pncp_raw_responses WHERE response_class IN ('data', 'empty')")
    return set(rows)


def test_kill_9_mid_fetch_then_resume(db_path: Path) -> None:
    replica = CountingReplica(after=40, latency_ms=50, today=TODAY)
    with ReplicaServer(replica) as server:
        env = os.environ | FAST | {"PNCP_BASE_URL": server.url, "PNCP_DUCKDB_PATH": str(db_path),
                                   "PNCP_CONCURRENCY": "4"}
        args = [sys.executable, "-m", "pncp_pipeline.cli", "extract", "--start", "2025-06", "--end", "2025-07",
                "--endpoint", "contratacoes_publicacao", "--endpoint", "contratos_atualizacao"]
        victim = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert replica.fetching.wait(120), "the extraction never reached the fetch phase"
            victim.send_signal(signal.SIGKILL)
        finally:
            victim.wait(30)
        assert victim.returncode == -signal.SIGKILL

        before = landed_pages(db_path)
        left = dict(query(db_path, "SELECT status, count(*) FROM psa.pncp_extraction_tasks GROUP BY 1"))
        # really killed mid-fetch, work was left; a task discovered in fetch's stream is FETCHING
        # from the batch that landed its page 1, so `status` shows its progress after the kill
        assert before and left.get("FETCHING", 0) > 0
        server.reset_stats()

        resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        asked = server.stats()["by_query"]

    assert query(db_path, "SELECT DISTINCT status FROM psa.pncp_extraction_tasks") == [("COMPLETE",)]
    twice = query(db_path, """SELECT task_id, page FROM psa.pncp_raw_responses WHERE response_class IN ('data', 'empty')
                              GROUP BY ALL HAVING count(*) > 1""")
    assert twice == []
    expected = query(db_path, "SELECT sum(greatest(total_pages, 1)) FROM psa.pncp_extraction_tasks")[0][0]
    after = landed_pages(db_path)
    assert len(after) == expected and before <= after
    assert query(db_path, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE records_landed <> total_records") == [(0,)]
    # Not one page that had landed before the kill was requested by the resumed run.
    landed_urls = {url for (url,) in query(db_path, """
        SELECT request_url FROM psa.pncp_raw_responses
        WHERE response_class IN ('data', 'empty') AND run_id = (SELECT min_by(run_id, fetched_at) FROM psa.pncp_raw_responses)""")}
    resumed_queries = {q.split("?")[1] for q in asked}
    normalized_landed = {"&".join(sorted(u.split("?")[1].split("&"))) for u in landed_urls}
    assert normalized_landed and not (normalized_landed & resumed_queries)
