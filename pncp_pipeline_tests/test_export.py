"""Parquet export (export.py, `pncp-pipeline export`): DuckDB COPY partitioned by month; read back, the
files equal the table, column types included; a ranged export replaces only its months."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pncp_pipeline import export, tables
from pncp_pipeline.errors import UsageError
from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline_tests import helpers
from pncp_pipeline_tests.conftest import TODAY
from pncp_pipeline_tests.test_cli import cli

ENDPOINTS = ["contratos_atualizacao", "atas_atualizacao", "pca_atualizacao"]
JUNE, JULY = date(2025, 6, 1), date(2025, 7, 1)


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two months of three endpoints, extracted and refreshed once for the module."""
    server = ReplicaServer(Replica(seed=1, today=TODAY)).start()
    try:
        path = tmp_path_factory.mktemp("export_db") / "pncp.duckdb"
        assert helpers.run(path, server.url, "2025-06", "2025-07", endpoints=ENDPOINTS).complete
        with duckdb.connect(str(path)) as conn:
            tables.refresh(conn, [JUNE, JULY])
        yield path
    finally:
        server.stop()


@pytest.fixture
def db(built_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pncp.duckdb"
    shutil.copy(built_db, copy)
    return copy


def read_back(conn: duckdb.DuckDBPyConnection, folder: Path) -> str:
    return f"SELECT * EXCLUDE (month) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)"


def test_every_table_round_trips_through_parquet(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with duckdb.connect(str(db), read_only=True) as conn:
        results = export.export(conn, out)
        by_table = {r.table: r for r in results}
        assert list(by_table) == list(tables.BY_NAME)
        for name in ("contratos", "atas", "pca_itens"):
            table = tables.get_table(name).qualified
            folder = out / name
            result = by_table[name]
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            assert result.rows == n > 0
            months = [m for (m,) in conn.execute(f"SELECT DISTINCT strftime(source_month, '%Y-%m') FROM {table} "
                                                 "ORDER BY 1").fetchall()]
            assert sorted(p.name for p in folder.iterdir()) == [f"month={m}" for m in months]
            assert result.months == months
            # same rows, same values: nothing lost or added either way
            assert conn.execute(f"SELECT count(*) FROM ({read_back(conn, folder)} EXCEPT ALL SELECT * FROM {table})"
                                ).fetchone() == (0,)
            assert conn.execute(f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL {read_back(conn, folder)})"
                                ).fetchone() == (0,)
            # same column names and types (JSON stays JSON, DECIMAL stays DECIMAL(38,4), DATE, TIMESTAMP)
            original = conn.execute(f"DESCRIBE {table}").fetchall()
            again = conn.execute(f"DESCRIBE {read_back(conn, folder)}").fetchall()
            assert [(c[0], c[1]) for c in again] == [(c[0], c[1]) for c in original]
            # each file holds its own month only
            mixed = conn.execute(f"SELECT count(*) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true) "
                                 "WHERE strftime(source_month, '%Y-%m') <> month").fetchone()[0]
            assert mixed == 0
    # tables without data are listed with zero rows and write nothing
    assert by_table["contratacoes"].rows == 0 and not list((out / "contratacoes").glob("month=*"))


def test_a_ranged_export_replaces_only_its_months(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    contratos = [tables.get_table("contratos")]
    with duckdb.connect(str(db)) as conn:
        export.export(conn, out, contratos)
        june_files = sorted((out / "contratos" / "month=2025-06").iterdir())
        june_stat = [p.stat().st_mtime_ns for p in june_files]
        stray = out / "contratos" / "notes.txt"
        stray.write_text("mine")
        conn.execute("DELETE FROM pncp_data.contratos WHERE source_month = ? AND record_key IN "
                     "(SELECT record_key FROM pncp_data.contratos WHERE source_month = ? LIMIT 5)", [JULY, JULY])
        (result,) = export.export(conn, out, contratos, start=JULY, end=JULY)
        july_rows = conn.execute("SELECT count(*) FROM pncp_data.contratos WHERE source_month = ?", [JULY]).fetchone()[0]
        assert result.rows == july_rows and result.months == ["2025-07"]
        assert conn.execute(f"SELECT count(*) FROM read_parquet('{out}/contratos/month=2025-07/*.parquet')"
                            ).fetchone()[0] == july_rows
        assert [p.stat().st_mtime_ns for p in sorted((out / "contratos" / "month=2025-06").iterdir())] == june_stat
        # a covered month with no rows left loses its folder; files that are not month folders stay
        conn.execute("DELETE FROM pncp_data.contratos WHERE source_month = ?", [JULY])
        (result,) = export.export(conn, out, contratos, start=JULY)
        assert result.rows == 0 and not (out / "contratos" / "month=2025-07").exists()
        assert (out / "contratos" / "month=2025-06").exists() and stray.read_text() == "mine"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_export_refuses_a_reversed_range_and_a_file_as_folder(db: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with duckdb.connect(str(db), read_only=True) as conn:
        with pytest.raises(UsageError):
            export.export(conn, tmp_path / "out", start=JULY, end=JUNE)
        with pytest.raises(UsageError):
            export.export(conn, tmp_path / "file")


def test_export_command(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    done = cli("export", "--format", "parquet", "--out", str(out), "--table", "contratos", "--table", "atas",
               "--start", "2025-07", "--end", "2025-07", db=db)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["atas", "contratos"]
    assert [p.name for p in (out / "contratos").iterdir()] == ["month=2025-07"]
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("contratos: ") and "2025-07" in lines[0]
    for args in (["--table", "nope"], ["--start", "2025-08", "--end", "2025-07"], ["--format", "csv"],
                 ["--start", "2025/07"]):
        bad = cli("export", "--out", str(out), *args, db=db)
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    assert cli("export", db=db).returncode == 2  # --out is required
