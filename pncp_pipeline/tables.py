"""Typed, deduplicated tables per record type, built from the raw pages by SQL inside DuckDB.

    pncp_data.contratacoes           contratacoes_publicacao, contratacoes_atualizacao
    pncp_data.contratos              contratos_publicacao, contratos_atualizacao
    pncp_data.atas                   atas_atualizacao (and atas_vigencia, when its pages were extracted)
    pncp_data.pca_itens              pca_atualizacao, one row per plan item with its plan's fields
    pncp_data.instrumentos_cobranca  instrumentoscobranca_inclusao

One row per record key (SPEC §5.0), the most recent version: `dataAtualizacaoGlobal` (or the table's
equivalent), then the latest landed page. A row's month (`source_month`, the partition) is the month
its winning version was extracted for: the raw row's `data_date`.

The schema is `pncp_data`, not `pncp`: DuckDB names a file's catalog after the file, and the default
file is `data/pncp.duckdb`, so `pncp.contratos` would be ambiguous (catalog or schema?) and DuckDB
refuses even a plain SELECT on it.

Incremental refresh of months M never rebuilds the table. `pncp_meta.record_versions` keeps, per key
× month × endpoint, where the best version of that month is; refreshing M re-parses only M's pages,
replaces M's entries there, and re-chooses the winner of every key M held before or holds now over
*all* months. So a record that also lives in a month outside M keeps exactly one row, the newest
one, and a record that vanished from M falls back to its version in another month (that one page is
re-parsed) instead of disappearing. Each month counts as of its own last refresh: a month whose task
drifted since keeps its entries until it is extracted and refreshed again (extract and the Dagster
asset both refresh the months they touch). Everything is set-based SQL; Python only sequences
statements, and the raw pages are parsed once per refresh pass.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb

from pncp_pipeline.endpoints import Endpoint, get_endpoint
from pncp_pipeline.errors import UsageError
from pncp_pipeline.storage import sql

#: Months rebuilt per transaction: bounds the staged rows of a long backfill without changing the result.
MONTHS_PER_PASS = 12

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Table:
    name: str
    endpoints: tuple[str, ...]  # registry names; each must share the same record_key / items_key
    description: str

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.name):
            raise ValueError(f"table name {self.name!r} must be a lower-case SQL identifier")
        keys = {(get_endpoint(e).record_key, get_endpoint(e).items_key) for e in self.endpoints}
        if len(keys) != 1:
            raise ValueError(f"endpoints of {self.name} disagree on the record key: {keys}")

    @property
    def qualified(self) -> str:
        return f"pncp_data.{self.name}"

    @property
    def sources(self) -> tuple[Endpoint, ...]:
        return tuple(get_endpoint(e) for e in self.endpoints)

    @property
    def enabled_sources(self) -> tuple[Endpoint, ...]:
        return tuple(e for e in self.sources if e.enabled)

    def key_params(self) -> dict[str, object]:
        """The registry's key paths (checks rebuild keys from raw pages); the sources agree on them."""
        return self.sources[0].key_params()


TABLES: tuple[Table, ...] = (
    Table("contratacoes", ("contratacoes_publicacao", "contratacoes_atualizacao"),
          "Procurements (contratações), one row per numeroControlePNCP, latest version."),
    Table("contratos", ("contratos_publicacao", "contratos_atualizacao"),
          "Contracts and commitments (contratos/empenhos), one row per numeroControlePNCP, latest version."),
    Table("atas", ("atas_atualizacao", "atas_vigencia"),
          "Price-registration records (atas), one row per numeroControlePNCPAta, latest version."),
    Table("pca_itens", ("pca_atualizacao",),
          "Annual procurement plan items, one row per (idPcaPncp, numeroItem), with the plan's fields."),
    Table("instrumentos_cobranca", ("instrumentoscobranca_inclusao",),
          "Billing instruments (NF-e), one row per (cnpj, ano, sequencialContrato, sequencialInstrumentoCobranca)."),
)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def get_table(name: str) -> Table:
    try:
        return BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown table {name!r}; known tables: {', '.join(BY_NAME)}") from None


def tables_for_endpoints(names: Iterable[str]) -> tuple[Table, ...]:
    """The tables fed by any of these endpoints, in registry order."""
    wanted = set(names)
    return tuple(t for t in TABLES if wanted.intersection(t.endpoints))


def render(name: str, **parts: str) -> str:
    """A statement from sql/ with its `{{...}}` slots filled: a table identifier from the registry,
    or another statement's text. Values always travel as bound parameters, never through here."""
    text = sql(name)
    for slot, value in parts.items():
        text = text.replace("{{" + slot + "}}", value)
    if "{{" in text:
        raise ValueError(f"unfilled slot in {name}.sql: {text[text.index('{{'):][:40]}")
    return text


#: Fragments shared by tables whose records nest the same organ/unit objects (contratações,
#: contratos): one JSON structure, one list of flattened columns, one list of column definitions.
#: (Every table's lineage columns and their comments are lineage_ddl.sql / lineage_comments.sql.)
SHARED_PARTS = ("orgao_unidade_structure", "orgao_unidade_columns", "orgao_unidade_ddl")


def _shared_parts() -> dict[str, str]:
    return {name: sql(f"tables/{name}") for name in SHARED_PARTS}


def select_sql(table: Table) -> str:
    """The typed SELECT of one table over {{pages}} (sql/tables/source_pages.sql)."""
    return render(f"tables/{table.name}", pages=sql("tables/source_pages"), **_shared_parts())


def ensure_tables(conn: duckdb.DuckDBPyConnection, tables: Sequence[Table] = TABLES) -> None:
    """Additive DDL only: CREATE ... IF NOT EXISTS, comments; never drops a user's table."""
    conn.execute(sql("tables/schema"))
    for table in tables:
        conn.execute(render(f"tables/{table.name}_ddl", **_shared_parts(), lineage_ddl=sql("tables/lineage_ddl"),
                            lineage_comments=render("tables/lineage_comments", table=table.name)))


def columns(conn: duckdb.DuckDBPyConnection, table: Table) -> list[tuple[str, str, str | None]]:
    """(name, type, comment) of each column, in table order."""
    return conn.execute(sql("tables/columns"), {"table": table.name}).fetchall()


def existing_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the registry tables that exist in this file (works on read-only connections)."""
    rows = conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'pncp_data'").fetchall()
    return {name for (name,) in rows} & set(BY_NAME)


@dataclass
class RefreshResult:
    table: str
    months: list[date]
    versions: int = 0           # record versions staged from the months' pages
    reparsed_pages: int = 0     # pages outside the months re-read for a winner the table lacked
    deleted: int = 0
    inserted: int = 0
    rows_by_month: dict[date, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.rows_by_month.values())


def refresh(conn: duckdb.DuckDBPyConnection, months: Iterable[date],
            tables: Sequence[Table] | None = None) -> list[RefreshResult]:
    """Bring the tables up to date for these months (first days), each pass in one transaction."""
    chosen = tuple(TABLES if tables is None else tables)
    wanted = sorted(set(months))
    ensure_tables(conn, chosen)
    refresh_id = uuid.uuid4().hex
    results = []
    for table in chosen:
        result = RefreshResult(table.name, wanted)
        for start in range(0, len(wanted), MONTHS_PER_PASS):
            _refresh_pass(conn, table, wanted[start:start + MONTHS_PER_PASS], result, refresh_id)
        results.append(result)
    return results


def _refresh_pass(conn: duckdb.DuckDBPyConnection, table: Table, months: list[date], result: RefreshResult,
                  refresh_id: str) -> None:
    select = select_sql(table)
    ident = table.qualified
    scoped = {"table": table.name, "months": months}
    sources = {"endpoints": list(table.endpoints)}
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(render("tables/refresh_stage", select=select), sources | {"months": months, "raw_ids": []})
        result.versions += conn.execute("SELECT count(*) FROM _pncp_staged").fetchone()[0]
        conn.execute(sql("tables/refresh_touched"), scoped)
        conn.execute(sql("tables/refresh_versions_delete"), scoped)
        conn.execute(sql("tables/refresh_versions_insert"), {"table": table.name})
        conn.execute(render("tables/refresh_winners", table=ident), scoped)
        raw_ids = [raw_id for (raw_id,) in conn.execute(sql("tables/refresh_reparse")).fetchall()]
        if raw_ids:
            conn.execute(render("tables/refresh_stage_more", select=select),
                         sources | {"months": [], "raw_ids": raw_ids})
            result.reparsed_pages += len(raw_ids)
        result.deleted += conn.execute(render("tables/refresh_delete", table=ident)).fetchone()[0]
        result.inserted += conn.execute(render("tables/refresh_insert", table=ident)).fetchone()[0]
        conn.execute(sql("tables/refresh_log_delete"), scoped)
        conn.execute(sql("tables/refresh_log_insert"), scoped | {"refresh_id": refresh_id})
        for month, rows in conn.execute(render("tables/month_rows", table=ident), {"months": months}).fetchall():
            result.rows_by_month[month] = rows
        for month in months:
            result.rows_by_month.setdefault(month, 0)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # keep the original error, not a failed rollback's
            conn.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(duckdb.Error):
            conn.execute(sql("tables/refresh_cleanup"))


# -- checks: pure figures; defs/tables.py turns them into Dagster asset checks ----------------------

@dataclass(frozen=True)
class KeyCount:
    rows: int
    keys: int
    duplicate_rows: int  # rows beyond one per key


@dataclass(frozen=True)
class LandedMonth:
    """One endpoint-month: what its landed data pages hold, what the table lacks, what was declared."""

    endpoint: str
    month: date
    tasks: int
    complete: int
    declared: int          # Σ total_records of the month's tasks (the API's totalRegistros)
    occurrences: int       # records in the landed data pages, repeats included
    distinct_records: int  # distinct keys among them
    unkeyed: int           # records without their key fields: they cannot be loaded
    missing: int           # distinct keys the table has no row for

    @property
    def is_complete(self) -> bool:
        return self.tasks > 0 and self.complete == self.tasks

    @property
    def moved(self) -> int:
        """Records served twice (ties in the server's sort move a record across a page boundary:
        it repeats on the next page and the record it displaced is never served)."""
        return self.occurrences - self.unkeyed - self.distinct_records

    @property
    def gap(self) -> int:
        """Declared records the table does not have as distinct records of this endpoint-month."""
        return self.declared - self.distinct_records

    @property
    def unexplained(self) -> int:
        """The part of the gap that records moved between pages do not explain (0 when consistent)."""
        return self.gap - self.moved - self.unkeyed


def key_count(conn: duckdb.DuckDBPyConnection, table: Table) -> KeyCount:
    return KeyCount(*conn.execute(render("tables/check_keys_unique", table=table.qualified)).fetchone())


def landed(conn: duckdb.DuckDBPyConnection, table: Table, months: Iterable[date]) -> list[LandedMonth]:
    """Per endpoint-month of the table's sources, rebuilt from the raw pages (not from the table)."""
    params = {"endpoints": list(table.endpoints), "months": sorted(set(months))} | table.key_params()
    rows = conn.execute(render("tables/check_landed", table=table.qualified), params).fetchall()
    return [LandedMonth(*row) for row in rows]


def latest_refresh_months(conn: duckdb.DuckDBPyConnection, table: Table) -> list[date]:
    return [m for (m,) in conn.execute(sql("tables/latest_refresh_months"), {"table": table.name}).fetchall()]
