"""The headless CLI as a user runs it: a subprocess, real HTTP to the replica, a real DuckDB file."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pncp_pipeline_tests.helpers import query

FAST = {"PNCP_RATE_PER_S": "2000", "PNCP_CONCURRENCY": "8", "PNCP_MAX_ATTEMPTS": "3",
        "PNCP_BACKOFF_INITIAL_S": "0.001", "PNCP_BACKOFF_MAX_S": "0.01"}


def cli(*args: str, db: Path, url: str = "http://127.0.0.1:9", max_file_bytes: int | None = None,
        **env: str) -> subprocess.CompletedProcess[str]:
    environ = os.environ | FAST | {"PNCP_BASE_URL": url, "PNCP_DUCKDB_PATH": str(db)} | env

    def limit_file_size() -> None:  # a full disk, as the process sees it: writes fail with EFBIG
        assert max_file_bytes is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run([sys.executable, "-m", "pncp_pipeline.cli", *args], env=environ, capture_output=True,
                          text=True, timeout=300, preexec_fn=limit_file_size if max_file_bytes else None)


def test_extract_then_rerun_makes_zero_requests(db_path: Path, replica) -> None:
    done = cli("extract", "--start", "2025-06", "--end", "2025-07", db=db_path, url=replica.url)
    assert done.returncode == 0, done.stderr
    assert "COMPLETE" in done.stdout
    assert query(db_path, "SELECT DISTINCT status FROM psa.pncp_extraction_tasks") == [("COMPLETE",)]
    assert query(db_path, "SELECT count(*) FROM psa.pncp_extraction_tasks WHERE records_landed <> total_records") == [(0,)]
    replica.reset_stats()
    again = cli("extract", "--start", "2025-06", "--end", "2025-07", db=db_path, url=replica.url)
    assert again.returncode == 0, again.stderr
    assert replica.stats()["total"] == 0


def test_status_json_and_table(db_path: Path, replica) -> None:
    assert cli("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", db=db_path,
               url=replica.url).returncode == 0
    out = cli("status", "--json", db=db_path)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["endpoint"] == "contratos_atualizacao" and row["status"] == "COMPLETE"
    assert row["pages_landed"] == row["pages_expected"] > 1
    assert row["records_landed"] == row["records_expected"] > 0
    table = cli("status", db=db_path)
    assert "contratos_atualizacao" in table.stdout and "COMPLETE" in table.stdout


def test_incomplete_extraction_exits_non_zero_with_a_summary(db_path: Path, replica_factory) -> None:
    server = replica_factory(fail_5xx=1.0)
    done = cli("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", db=db_path, url=server.url)
    assert done.returncode == 1
    assert "1 PARTIAL" in done.stdout
    assert "run the same command again to resume" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args, message", [
    (("extract", "--start", "2024-13"), "not of the form YYYY-MM"),
    (("extract", "--start", "2024-03", "--end", "2024-01"), "after end month"),
    (("extract", "--start", "2019-01"), "before 2021-01"),
    (("extract", "--start", "2099-01"), "in the future"),
    (("extract", "--start", "2024-01", "--endpoint", "nope"), "unknown endpoint 'nope'"),
    (("extract",), "--start"),
    (("frobnicate",), "invalid choice"),
])
def test_usage_errors_are_one_line_and_exit_2(db_path: Path, args: tuple[str, ...], message: str) -> None:
    done = cli(*args, db=db_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not db_path.exists()


@pytest.mark.parametrize("env, message", [
    ({"PNCP_CONCURRENCY": "0"}, "concurrency must be between 1 and 64"),
    ({"PNCP_CONCURRENCY": "many"}, "PNCP_CONCURRENCY must be a int"),
    ({"PNCP_BASE_URL": "pncp.gov.br"}, "PNCP_BASE_URL must be an http(s) URL"),
])
def test_bad_configuration_exits_2(db_path: Path, env: dict[str, str], message: str) -> None:
    done = cli("extract", "--start", "2024-01", db=db_path, **env)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_database_problems_are_one_line(tmp_path: Path) -> None:
    missing_dir = cli("extract", "--start", "2024-01", db=tmp_path / "no" / "p.duckdb")
    assert missing_dir.returncode == 1 and "directory does not exist" in missing_dir.stderr
    bogus = tmp_path / "p.duckdb"
    bogus.write_text("not a database\n" * 100)
    not_duckdb = cli("status", db=bogus)
    assert not_duckdb.returncode == 1 and "not a DuckDB database file" in not_duckdb.stderr
    assert "Traceback" not in missing_dir.stderr + not_duckdb.stderr
    nothing = cli("status", db=tmp_path / "fresh.duckdb")
    assert nothing.returncode == 1 and "run an extraction first" in nothing.stderr


def test_a_disk_that_fills_up_stops_cleanly_and_a_later_run_resumes(db_path: Path, replica_factory) -> None:
    server = replica_factory(scale=5.0)
    args = ("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", "--endpoint", "pca_atualizacao")
    full = cli(*args, db=db_path, url=server.url, max_file_bytes=4_000_000)
    assert full.returncode == 1
    assert f"the disk holding {db_path} is full" in full.stderr and "Traceback" not in full.stderr
    resumed = cli(*args, db=db_path, url=server.url)
    assert resumed.returncode == 0, resumed.stderr
    assert query(db_path, "SELECT DISTINCT status FROM psa.pncp_extraction_tasks") == [("COMPLETE",)]


def test_page_size_configuration_is_checked_against_the_api_limit(db_path: Path, replica) -> None:
    too_big = cli("extract", "--start", "2025-07", db=db_path, PNCP_PAGE_SIZE_CONTRATOS_ATUALIZACAO="501")
    assert too_big.returncode == 2 and "outside what the API accepts (10..500)" in too_big.stderr
    unknown = cli("extract", "--start", "2025-07", db=db_path, PNCP_PAGE_SIZE_NOPE="100")
    assert unknown.returncode == 2 and "unknown endpoint 'nope'" in unknown.stderr
    smaller = cli("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", db=db_path,
                  url=replica.url, PNCP_PAGE_SIZE_CONTRATOS_ATUALIZACAO="100")
    assert smaller.returncode == 0, smaller.stderr
    ((size, pages, records),) = query(db_path, "SELECT page_size, total_pages, total_records FROM psa.pncp_extraction_tasks")
    assert size == 100 and pages == -(-records // 100)
    # a changed configuration does not re-plan a task discovered at another size
    replica.reset_stats()
    assert cli("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", db=db_path,
               url=replica.url).returncode == 0
    assert replica.stats()["total"] == 0


def test_status_of_a_file_killed_before_its_schema(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "p.duckdb"
    duckdb.connect(str(db)).close()
    done = cli("status", db=db)
    assert done.returncode == 0 and "no tasks yet" in done.stdout
