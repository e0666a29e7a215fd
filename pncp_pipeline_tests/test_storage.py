"""The DuckDB file: idempotent schema, and one clear error for every way the file can be unusable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pncp_pipeline.errors import DatabaseFileError, DatabaseLockedError
from pncp_pipeline.storage import ROW_GROUP_SIZE, checkpoint, connect, open_database
from pncp_pipeline_tests.helpers import row_group_sizes


def test_schema_is_idempotent_and_keeps_data(db_path: Path) -> None:
    with open_database(db_path) as conn:
        conn.execute("INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date) VALUES ('t', 'e', DATE '2024-01-01')")
    with open_database(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM psa.pncp_extraction_tasks").fetchone() == (1,)


def test_connections_write_small_row_groups(db_path: Path) -> None:
    # A raw row is a whole page; with DuckDB's 122,880-row groups every checkpoint rewrote, in
    # memory, everything landed so far. The file does not keep the size: each connection sets it.
    for _ in range(2):  # the second connection appends to the first one's file
        with open_database(db_path) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (i INTEGER)")
            conn.execute("INSERT INTO t SELECT range FROM range(3 * ?)", [ROW_GROUP_SIZE])
            conn.execute("CHECKPOINT")
    with open_database(db_path, read_only=True) as conn:
        sizes = row_group_sizes(conn, "t")
        (temp_dir,) = conn.execute("SELECT current_setting('temp_directory')").fetchone()
    assert sizes == [ROW_GROUP_SIZE] * 6
    assert temp_dir == f"{db_path}.tmp"  # spills beside the file, as DuckDB does for a file it opens


def test_connection_config_applies_over_the_defaults(db_path: Path) -> None:
    with open_database(db_path, config={"threads": 1, "checkpoint_threshold": "64MiB"}) as conn:
        settings = dict(conn.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'checkpoint_threshold')").fetchall())
    assert settings == {"threads": "1", "checkpoint_threshold": "64.0 MiB"}


def test_a_file_error_while_in_use_is_a_clear_error(db_path: Path) -> None:
    # The Dagster ops and the tables use the connection directly, outside the writer's own check.
    with pytest.raises(DatabaseFileError, match="is full"):
        with open_database(db_path) as conn:
            conn.execute("SELECT 1")
            raise duckdb.IOException("IO Error: No space left on device")
    connect(db_path).close()  # and the file was released


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


@pytest.mark.parametrize("config", [{"memory_limit": "3GB"}, {"MAX_MEMORY": "3GB"}, None],
                         ids=["configured limit", "limit under its alias", "default limit"])
def test_a_checkpoint_empties_duckdbs_cache_and_keeps_the_memory_limit(db_path: Path, config) -> None:
    # DuckDB kept every block it wrote cached: over a run, memory grew with the file.
    with open_database(db_path, config=config) as conn:
        def cached_mb() -> float:
            (used,) = conn.execute(
                "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'BASE_TABLE'").fetchone()
            return used / 2**20

        def limit() -> str:
            return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]

        opened_with = limit()
        checkpoint(conn)
        schema_only = cached_mb()  # metadata blocks stay cached
        conn.execute("CREATE TABLE t AS SELECT md5(range::VARCHAR) || repeat('x', 500) AS s FROM range(50000)")
        conn.execute("CHECKPOINT")
        written = cached_mb()
        checkpoint(conn)
        added, kept = written - schema_only, cached_mb() - schema_only
        assert added > 4 and kept < 0.2 * added  # the data's blocks went; its metadata may stay
        assert limit() == opened_with
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (50000,)  # read back from the file


def test_a_checkpoint_leaves_the_memory_limit_of_a_connection_opened_elsewhere(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "plain.duckdb"), config={"memory_limit": "3GB"}) as conn:
        (before,) = conn.execute("SELECT current_setting('memory_limit')").fetchone()
        checkpoint(conn)
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone() == (before,)
