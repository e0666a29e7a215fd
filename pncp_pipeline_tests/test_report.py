"""`pncp-pipeline report` and report.py: coverage per endpoint and month, the same figures as the control table."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pncp_pipeline import report
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests import helpers
from pncp_pipeline_tests.test_cli import cli

ENDPOINTS = ["contratacoes_atualizacao", "atas_atualizacao"]


def control_figures(db_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """What the control table says, computed here independently of report_coverage.sql."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for name, month, status, pages, missing, declared, landed, distinct in helpers.query(
            db_path, "SELECT endpoint_name, strftime(data_date, '%Y-%m'), status, total_pages, "
                     "json_array_length(missing_pages), total_records, records_landed, records_distinct "
                     "FROM psa.pncp_extraction_tasks"):
        row = out.setdefault((name, month), {"tasks": 0, "complete": 0, "partial": 0, "pages_expected": 0,
                                             "pages_landed": 0, "records_declared": 0, "records_landed": 0,
                                             "records_distinct": 0})
        row["tasks"] += 1
        row[status.lower()] = row.get(status.lower(), 0) + 1
        row["pages_expected"] += max(pages or 1, 1)
        row["pages_landed"] += 0 if pages is None else max(pages, 1) - (missing or 0)
        row["records_declared"] += declared or 0
        row["records_landed"] += landed or 0
        row["records_distinct"] += distinct or 0
    return out


def test_coverage_per_endpoint_and_month_matches_the_control_table(db_path: Path, replica: ReplicaServer) -> None:
    assert helpers.run(db_path, replica.url, "2025-06", "2025-07", endpoints=ENDPOINTS).complete
    with duckdb.connect(str(db_path), read_only=True) as conn:
        rows = report.coverage(conn)
        one_month = report.coverage(conn, date(2025, 7, 1))
        one_endpoint = report.coverage(conn, endpoints=["atas_atualizacao"])
    expected = control_figures(db_path)
    assert [(r["endpoint"], f"{r['month']:%Y-%m}") for r in rows] == sorted(expected)
    for r in rows:
        want = expected[(r["endpoint"], f"{r['month']:%Y-%m}")]
        for name, value in want.items():
            assert r[name] == value, (r["endpoint"], r["month"], name)
        assert r["tasks"] == sum(r[s] for s in ("pending", "discovering", "fetching", "partial", "complete", "failed"))
    per_modality = [r for r in rows if r["endpoint"] == "contratacoes_atualizacao"]
    assert all(r["tasks"] == 19 for r in per_modality)  # one task per modality
    assert {r["month"] for r in one_month} == {date(2025, 7, 1)}
    assert {r["endpoint"] for r in one_endpoint} == {"atas_atualizacao"}
    assert report.totals(rows)["records_declared"] == sum(v["records_declared"] for v in expected.values())


def test_the_three_formats(db_path: Path, replica: ReplicaServer) -> None:
    assert helpers.run(db_path, replica.url, "2025-07", endpoints=["atas_atualizacao"]).complete
    with duckdb.connect(str(db_path), read_only=True) as conn:
        rows = report.coverage(conn)
    (row,) = rows
    parsed = json.loads(report.as_json(rows))
    assert parsed == [{**row, "month": "2025-07"}]
    markdown = report.as_markdown(rows).splitlines()
    assert markdown[0].startswith("| endpoint | month | tasks | status |") and set(markdown[1]) == {"|", "-"}
    assert markdown[2] == (f"| atas_atualizacao | 2025-07 | 1 | COMPLETE 1 | 1/1 | {row['records_declared']} "
                           f"| {row['records_landed']} | {row['records_distinct']} |")
    table = report.as_table(rows).splitlines()
    assert table[0].split() == ["endpoint", "month", "tasks", "status", "pages", "declared", "landed", "distinct"]
    assert table[2].split()[:5] == ["atas_atualizacao", "2025-07", "1", "COMPLETE", "1"]
    assert table[-1].split()[0] == "total"
    assert report.as_table([]).startswith("no tasks yet")


def test_report_command(db_path: Path, replica: ReplicaServer) -> None:
    assert cli("extract", "--start", "2025-07", "--endpoint", "atas_atualizacao", db=db_path,
               url=replica.url).returncode == 0
    out = cli("report", "--month", "2025-07", "--format", "json", db=db_path)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["endpoint"] == "atas_atualizacao" and row["month"] == "2025-07" and row["complete"] == 1
    assert row["records_declared"] == row["records_landed"] == row["records_distinct"] > 0
    assert json.loads(cli("report", "--month", "2025-05", "--format", "json", db=db_path).stdout) == []
    markdown = cli("report", "--format", "markdown", db=db_path)
    assert markdown.returncode == 0 and "| atas_atualizacao | 2025-07 |" in markdown.stdout
    table = cli("report", db=db_path)
    assert table.returncode == 0 and "atas_atualizacao" in table.stdout and "COMPLETE 1" in table.stdout


def test_report_usage_errors_are_one_line_and_exit_2(db_path: Path, tmp_path: Path) -> None:
    for args in (["--month", "2025-13"], ["--month", "July"], ["--format", "xml"], ["--month", "2019-01"]):
        out = cli("report", *args, db=db_path)
        assert out.returncode == 2, args
        assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    missing = cli("report", db=tmp_path / "nothing-here.duckdb")
    assert missing.returncode == 1 and "run an extraction first" in missing.stderr
