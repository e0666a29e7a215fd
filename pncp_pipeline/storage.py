"""The only place that opens DuckDB: lock-aware connections, clear errors, idempotent schema.

DuckDB takes one writer process or many readers, never both. A writer that meets another process's
lock retries with bounded backoff and then fails naming the holder; a reader fails at once (a
sensor tick must never wait). Schema creation only ever adds: no statement here drops anything.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from pncp_pipeline.errors import DatabaseFileError, DatabaseLockedError, StorageError

#: Raised from DuckDB's default (16 MB): a checkpoint per few pages made landing 500-record pages
#: 5x slower and quadrupled peak memory. Not higher: what is not checkpointed stays in memory.
CONNECTION_CONFIG = {"checkpoint_threshold": "256MB"}
#: The raw writer checkpoints every ROW_GROUP_SIZE rows itself (writer.RawWriter: a checkpoint
#: part-way through a row group makes later ones rewrite it, in memory), so while it writes, DuckDB's
#: own threshold must stay above a row group of the largest pages (2,048 x 1 MB).
WRITER_CHECKPOINT_THRESHOLD = "4GB"
#: Rows per row group (DuckDB's default: 122,880). A raw row is a whole page of 16 KB to 1 MB, so a
#: default row group would hold GBs, and every checkpoint rewrites the row group being filled, in
#: memory: peak memory and checkpoint time grew with everything landed. 2,048 is DuckDB's minimum.
#: The file does not keep it, so every connection attaches the file with it (`connect`).
ROW_GROUP_SIZE = 2048
#: The catalog name the file is attached under, and made the default, in every connection.
DATABASE_ALIAS = "pncp"
LOCK_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
#: What using an open file can raise for the file's sake (disk full, file-size limit, lost file):
#: turned into one clear line; what committed before stays.
USE_ERRORS = (duckdb.IOException, duckdb.TransactionException)

ConnectionFactory = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

#: Where a connection keeps the memory limit it was opened with, for `checkpoint` to restore;
#: _DEFAULT_LIMIT when its config set none.
_LIMIT_VARIABLE = "pncp_memory_limit"
_DEFAULT_LIMIT = "default"

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.+?) \(PID (?P<pid>\d+)\)")


@cache
def sql(name: str) -> str:
    """A statement from `pncp_pipeline/sql/`: every state change is a named file, not inline text."""
    return (resources.files("pncp_pipeline") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def _holder(message: str) -> str:
    match = _LOCK_HOLDER.search(message)
    if not match:
        return "another process"
    pid = match["pid"]
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmdline = match["exe"]
    return f"process {pid} ({cmdline or match['exe']})"


def translate(error: Exception, path: str | Path) -> StorageError:
    """Turn DuckDB's IO errors into the pipeline's one-line, actionable errors."""
    message = str(error)
    if "Could not set lock" in message or "Conflicting lock" in message:
        return DatabaseLockedError(
            f"the database {path} is in use by {_holder(message)}; DuckDB allows one writer at a "
            "time, so wait for it to finish or close it, then run again"
        )
    if "not a valid DuckDB database file" in message or "is not a DuckDB" in message:
        return DatabaseFileError(f"{path} exists but is not a DuckDB database file; point PNCP_DUCKDB_PATH elsewhere")
    if "No such file or directory" in message:
        return DatabaseFileError(f"cannot create the database {path}: its directory does not exist")
    if "Permission denied" in message or "Read-only file system" in message:
        return DatabaseFileError(f"cannot open the database {path}: permission denied")
    if "No space left on device" in message or "File too large" in message or "disk is full" in message.lower():
        return DatabaseFileError(f"the disk holding {path} is full; free space, then run again to resume")
    return StorageError(f"cannot use the database {path}: {message.splitlines()[0]}")


def is_lock_error(error: Exception) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(sql("schema"))


def checkpoint(conn: duckdb.DuckDBPyConnection) -> None:
    """Write everything to the file, then drop it from DuckDB's cache.

    DuckDB keeps blocks it has written cached until memory runs short, so over a run the cache grew
    with the file (+70 MB over 116k pages) though nothing reads them back. Lowering the memory
    limit is the one way to make it evict; right after a checkpoint every block is on disk, so an
    instant at a tiny limit empties the cache. The limit comes back as the connection was opened
    with it (`_attach`): the setting reads back rounded, and each round trip would lower it. A
    connection opened elsewhere only checkpoints: its limit is not ours to touch.
    """
    conn.execute("CHECKPOINT")
    (limit,) = conn.execute("SELECT getvariable(?)", [_LIMIT_VARIABLE]).fetchone()
    if limit is None:
        return
    try:
        conn.execute("SET memory_limit = '1MB'")
    except duckdb.OutOfMemoryException:
        pass  # something was still pinned: what could be evicted was, the rest stays
    finally:
        if limit == _DEFAULT_LIMIT:
            conn.execute("RESET memory_limit")
        else:
            conn.execute("SET memory_limit = ?", [limit])


def _memory_limit(config: dict[str, Any]) -> str:
    """The limit a config sets, under any of the names DuckDB accepts for it."""
    named = {key.lower(): str(value) for key, value in config.items()}
    return named.get("memory_limit", named.get("max_memory", _DEFAULT_LIMIT))


def _attach(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the file attached: ROW_GROUP_SIZE can only be set by ATTACH.

    Its `cursor()` would start in the empty in-memory catalog, not the file: use the connection.
    """
    # spill files go where DuckDB puts them for a file it opens itself, not into the working directory
    conn = duckdb.connect(":memory:", config={"temp_directory": f"{path}.tmp", **config})
    options = f"{'READ_ONLY, ' if read_only else ''}ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
    try:
        conn.execute(f"ATTACH ? AS {DATABASE_ALIAS} ({options})", [str(path)])
        conn.execute(f"USE {DATABASE_ALIAS}")
        conn.execute(f"SET VARIABLE {_LIMIT_VARIABLE} = ?::VARCHAR", [_memory_limit(config)])
    except BaseException:
        conn.close()
        raise
    return conn


def connect(path: str | Path, *, read_only: bool = False, create_dir: bool = False,
            retry_delays_s: tuple[float, ...] = LOCK_RETRY_DELAYS_S,
            config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Open the file; writers retry a held lock with bounded backoff, readers never wait."""
    path = Path(path)
    if read_only and not path.exists():
        raise DatabaseFileError(f"no database at {path} yet: run an extraction first")
    if create_dir:
        path.parent.mkdir(parents=True, exist_ok=True)
    delays = () if read_only else retry_delays_s
    for attempt in range(len(delays) + 1):
        try:
            conn = _attach(path, read_only, {**CONNECTION_CONFIG, **(config or {})})
            break
        except (duckdb.IOException, duckdb.InvalidInputException, duckdb.Error) as e:
            if is_lock_error(e) and attempt < len(delays):
                time.sleep(delays[attempt])
                continue
            raise translate(e, path) from None
    if not read_only:
        try:
            ensure_schema(conn)
        except USE_ERRORS as e:
            conn.close()  # a failed open must not keep holding the file
            raise translate(e, path) from None
    return conn


@contextmanager
def open_database(path: str | Path, *, read_only: bool = False, create_dir: bool = False,
                  config: dict[str, Any] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = connect(path, read_only=read_only, create_dir=create_dir, config=config)
    try:
        yield conn
    except USE_ERRORS as e:
        raise translate(e, path) from None
    finally:
        conn.close()


def file_factory(path: str | Path, *, create_dir: bool = False) -> ConnectionFactory:
    """A factory the phases call once per phase: the file is held for a phase, released between."""
    return lambda: open_database(path, create_dir=create_dir)
