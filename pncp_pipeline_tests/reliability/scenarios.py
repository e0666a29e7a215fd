"""Reliability scenarios: the pipeline against a misbehaving replica, measured.

Each scenario returns its figures (tasks, pages, faults injected, pages lost, duplicate pages,
redundant requests, final status). The test suite runs them small and asserts on the figures;
`make reliability` runs them large and prints the table.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pncp_pipeline import engine
from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.faults import Faults
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import file_factory
from pncp_pipeline_tests.conftest import TODAY

PHASES = ("plan", "discover", "fetch", "reconcile")


@dataclass(frozen=True)
class Size:
    start: str
    end: str
    endpoints: tuple[str, ...]
    scale: float
    kills: int

    def args(self) -> list[str]:
        out = ["--start", self.start, "--end", self.end]
        for name in self.endpoints:
            out += ["--endpoint", name]
        return out

    def scope(self) -> Scope:
        return Scope.from_args(self.start, self.end, list(self.endpoints))


SMALL = Size("2025-07", "2025-07", ("contratos_atualizacao", "pca_atualizacao", "contratacoes_atualizacao"), 1.0, 20)
LARGE = Size("2025-05", "2025-07", ("contratos_publicacao", "contratos_atualizacao", "pca_atualizacao",
                                    "contratacoes_atualizacao", "atas_atualizacao", "instrumentoscobranca_inclusao"),
             3.0, 40)


@dataclass
class Figures:
    scenario: str
    tasks: int
    pages: int
    faults: int
    pages_lost: int
    duplicate_pages: int
    redundant_requests: int
    final_status: str
    extra: dict[str, Any]

    def row(self) -> list[str]:
        return [self.scenario, str(self.tasks), str(self.pages), str(self.faults), str(self.pages_lost),
                str(self.duplicate_pages), str(self.redundant_requests), self.final_status]


def settings(url: str, **overrides: Any) -> ClientSettings:
    values: dict[str, Any] = dict(base_url=url, concurrency=8, rate_per_s=2000.0, timeout_s=1.0,
                                  connect_timeout_s=1.0, max_attempts=8, backoff_initial_s=0.001,
                                  backoff_max_s=0.02)
    return ClientSettings(**(values | overrides))


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def landed(db: Path) -> set[tuple[str, int]]:
    """Pages landed in each task's current snapshot (none in a file a kill left without a schema)."""
    if not db.exists() or not _query(db, "SELECT 1 FROM duckdb_tables() WHERE schema_name = 'psa'"):
        return set()
    return set(_query(db, """
        SELECT r.task_id, r.page FROM psa.pncp_raw_responses r JOIN psa.pncp_extraction_tasks t USING (task_id)
        WHERE r.response_class IN ('data', 'empty') AND r.fetched_at > coalesce(t.drifted_at, '-infinity'::TIMESTAMPTZ)"""))


def measure(name: str, db: Path, faults: int, redundant: int | None = None, **extra: Any) -> Figures:
    tasks = dict(_query(db, "SELECT status, count(*) FROM psa.pncp_extraction_tasks GROUP BY 1"))
    expected = _query(db, "SELECT coalesce(sum(greatest(total_pages, 1)), 0) FROM psa.pncp_extraction_tasks "
                          "WHERE total_pages IS NOT NULL")[0][0]
    undiscovered = _query(db, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE total_pages IS NULL")[0][0]
    current = landed(db)
    duplicates = _query(db, """
        SELECT count(*) FROM (
            SELECT r.task_id, r.page FROM psa.pncp_raw_responses r JOIN psa.pncp_extraction_tasks t USING (task_id)
            WHERE r.response_class = 'data' AND r.fetched_at > coalesce(t.drifted_at, '-infinity'::TIMESTAMPTZ)
            GROUP BY ALL HAVING count(*) > 1)""")[0][0]
    landed_rows = _query(db, "SELECT count(*) FROM psa.pncp_raw_responses WHERE response_class IN ('data', 'empty')")[0][0]
    status = ", ".join(f"{n} {s}" for s, n in sorted(tasks.items()))
    return Figures(name, sum(tasks.values()), int(expected) + undiscovered, faults,
                   int(expected) + undiscovered - len(current), duplicates,
                   landed_rows - len(current) if redundant is None else redundant, status, extra)


def _run(db: Path, server: ReplicaServer, size: Size, **overrides: Any) -> engine.ExtractionResult:
    return engine.extract(file_factory(db), size.scope(), settings(server.url, **overrides))


def _faults_injected(server: ReplicaServer) -> int:
    return sum(server.stats()["faults"].values())


def transport_faults(workdir: Path, size: Size) -> Figures:
    """5xx, 429, HTML 200s, cut bodies, stalls and dropped connections: all retried, none landed."""
    faults = Faults(fail_5xx=0.15, fail_429=0.05, fail_html=0.05, fail_truncate=0.05, fail_reset=0.05,
                    fail_stall=0.02, fail_wrong_page=0.05, stall_s=1.5)
    with ReplicaServer(Replica(scale=size.scale, today=TODAY, faults=faults)) as server:
        db = workdir / "transport.duckdb"
        result = _run(db, server, size, timeout_s=0.5)
        return measure("transport faults", db, _faults_injected(server), complete=result.complete)


def bursts_429(workdir: Path, size: Size) -> Figures:
    """Long 429 bursts with few attempts: caught tasks end PARTIAL (never FAILED); a later run finishes."""
    faults = Faults(burst_429_every=40, burst_429_length=25)
    with ReplicaServer(Replica(scale=size.scale, today=TODAY, faults=faults)) as server:
        db = workdir / "bursts.duckdb"
        first = _run(db, server, size, max_attempts=2)
        after_burst = first.counts
        server.replica.faults.update({"burst_429_every": 0})
        second = _run(db, server, size, max_attempts=2)
        return measure("429 bursts", db, _faults_injected(server), partial_after_burst=after_burst["PARTIAL"],
                       failed_after_burst=after_burst["FAILED"], complete=second.complete)


def drift(workdir: Path, size: Size, records: int) -> Figures:
    """Totals that move while a month is paged: re-discovered, then fetched from one snapshot."""
    faults = Faults(drift_records=records, drift_after=2, drift_max_steps=1)
    with ReplicaServer(Replica(scale=size.scale, today=TODAY, faults=faults)) as server:
        db = workdir / f"drift{records:+d}.duckdb"
        result = _run(db, server, size)
        mismatched = _query(db, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE records_landed <> total_records")[0][0]
        drifted = _query(db, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE drift_count > 0")[0][0]
        return measure(f"drift {records:+d} records", db, drifted, tasks_drifted=drifted, mismatched=mismatched,
                       complete=result.complete)


def unstable_order(workdir: Path, size: Size) -> Figures:
    """Ties reordered between requests: a record twice, another never; seen as distinct < declared."""
    with ReplicaServer(Replica(scale=size.scale, today=TODAY, faults=Faults(unstable_order=0.5))) as server:
        db = workdir / "unstable.duckdb"
        result = _run(db, server, size)
        short = _query(db, "SELECT count(*), coalesce(sum(total_records - records_distinct), 0) "
                           "FROM psa.pncp_extraction_tasks WHERE records_distinct < total_records")[0]
        return measure("unstable ordering", db, int(short[1]), tasks_with_repeats=short[0], records_repeated=int(short[1]),
                       complete=result.complete)


def chaos(workdir: Path, size: Size, seed: int = 7) -> Figures:
    """SIGKILL the CLI at seeded moments in every phase, resume each time, compare with a clean run."""
    rng = random.Random(seed)
    db = workdir / "chaos.duckdb"
    clean_db = workdir / "clean.duckdb"
    with ReplicaServer(Replica(scale=size.scale, today=TODAY, latency_ms=2)) as server:
        env = os.environ | {"PNCP_BASE_URL": server.url, "PNCP_DUCKDB_PATH": str(db), "PNCP_RATE_PER_S": "2000",
                            "PNCP_CONCURRENCY": "4", "PNCP_MAX_ATTEMPTS": "3", "PNCP_BACKOFF_INITIAL_S": "0.001",
                            "PNCP_BACKOFF_MAX_S": "0.01", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "pncp_pipeline.cli", "extract", *size.args()]
        killed: Counter[str] = Counter()
        redundant = 0
        for i in range(size.kills):
            phase = PHASES[i % len(PHASES)]
            before = landed(db)
            server.reset_stats()
            if _kill_during(command, env, phase, rng.uniform(0, 0.15 if phase == "fetch" else 0.02)):
                killed[phase] += 1
            redundant += _asked_again(server, db, before)
        before = landed(db)
        server.reset_stats()
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        redundant += _asked_again(server, db, before)
        stuck = _query(db, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE status IN ('DISCOVERING', 'FETCHING')")[0][0]
        engine.extract(file_factory(clean_db), size.scope(), settings(server.url))
    same = _pages_and_bodies(db) == _pages_and_bodies(clean_db)
    return measure("kill -9 chaos", db, sum(killed.values()), redundant=redundant, kills_by_phase=dict(killed),
                   same_as_clean_run=same, stuck=stuck, exit_code=final.returncode)


def _kill_during(command: list[str], env: dict[str, str], phase: str, delay_s: float) -> bool:
    """Start an extraction; once it logs the start of `phase`, wait `delay_s`, then SIGKILL it."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if f" {phase}: " in line:
                try:
                    proc.wait(delay_s)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(30)
    return proc.returncode == -signal.SIGKILL


def _asked_again(server: ReplicaServer, db: Path, before: set[tuple[str, int]]) -> int:
    """Requests of this run for pages that had landed before it started (the promise: zero)."""
    if not before:
        return 0
    query_of = {(task_id, page): _normalize(url) for task_id, page, url in _query(db, """
        SELECT task_id, page, any_value(request_url) FROM psa.pncp_raw_responses
        WHERE response_class IN ('data', 'empty') GROUP BY ALL""")}
    landed_queries = {query_of[k] for k in before if k in query_of}
    return sum(n for q, n in server.stats()["by_query"].items() if q.split("?", 1)[1] in landed_queries)


def _normalize(url: str) -> str:
    return "&".join(sorted(url.split("?", 1)[1].split("&")))


def _pages_and_bodies(db: Path) -> set[tuple[str, int, str]]:
    return set(_query(db, "SELECT task_id, page, body_sha256 FROM psa.pncp_raw_responses "
                          "WHERE response_class IN ('data', 'empty')"))


def all_scenarios(size: Size) -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="pncp-reliability-") as tmp:
        work = Path(tmp)
        return [transport_faults(work, size), bursts_429(work, size), drift(work, size, 7), drift(work, size, -7),
                unstable_order(work, size), chaos(work, size)]
