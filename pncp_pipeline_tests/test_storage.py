"""The DuckDB file: idempotent schema, and one clear error for every way the file can be unusable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pncp_pipeline.errors import DatabaseFileError, DatabaseLockedError
from pncp_pipeline.storage import connect, open_database


def test_schema_is_idempotent_and_keeps_data(db_path: Path) -> None:
    with open_database(db_path) as conn:
        conn.execute("INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date) VALUES ('t', 'e', DATE '2024-01-01')")
    with open_database(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM psa.pncp_extraction_tasks").fetchone() == (1,)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="directory does not exist"):
        connect(tmp_path / "nope" / "p.duckdb")


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    path.write_text("this is a spreadsheet, honest\n" * 200)
    with pytest.raises(DatabaseFileError, match="not a DuckDB database file"):
        connect(path)
    assert path.read_text().startswith("this is a spreadsheet")  # untouched


def test_reader_without_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="run an extraction first"):
        connect(tmp_path / "p.duckdb", read_only=True)


def test_lock_held_by_another_process_names_it(db_path: Path) -> None:
    connect(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
         str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLockedError, match=rf"in use by process {holder.pid} \(.*python"):
            connect(db_path, retry_delays_s=(0.01, 0.01))
        with pytest.raises(DatabaseLockedError, match=str(holder.pid)):
            connect(db_path, read_only=True)
    finally:
        holder.stdin.close()
        holder.wait(10)
    connect(db_path).close()  # released: usable again
