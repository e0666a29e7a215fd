"""The `pncp-pipeline` command: headless entry points for cron users, scripts and the offline demo.

Every failure a user can cause or meet ends in one line on stderr and a non-zero exit (2 for usage
errors), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

import orjson

from pncp_pipeline.errors import PipelineError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from pncp_pipeline.scope import Scope
    from pncp_pipeline.storage import ConnectionFactory


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors: same one-line style, exit 2
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pncp-pipeline", description="A resumable local mirror of the PNCP API in DuckDB.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ex = sub.add_parser("extract", help="extract a range of months (all enabled endpoints by default)")
    ex.add_argument("--start", required=True, help="first month, YYYY-MM")
    ex.add_argument("--end", help="last month, YYYY-MM (default: the start month)")
    ex.add_argument("--endpoint", action="append", dest="endpoints", metavar="NAME",
                    help="endpoint to extract (repeatable; default: every enabled endpoint)")
    st = sub.add_parser("status", help="tasks by endpoint and status, pages and records landed/expected")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    rp = sub.add_parser("report", help="coverage per endpoint and month: tasks by status, pages, records")
    rp.add_argument("--month", help="one month, YYYY-MM (default: every month)")
    rp.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    xp = sub.add_parser("export", help="write the typed tables as files partitioned by month")
    xp.add_argument("--format", choices=("parquet",), default="parquet")
    xp.add_argument("--out", required=True, metavar="DIR", help="folder for <table>/month=YYYY-MM/*.parquet")
    xp.add_argument("--table", action="append", dest="tables", metavar="NAME",
                    help="table to export (repeatable; default: every table)")
    xp.add_argument("--start", help="first month, YYYY-MM (default: the earliest)")
    xp.add_argument("--end", help="last month, YYYY-MM (default: the latest)")
    sub.add_parser("fake-api", help="run the local PNCP replica (see `pncp-pipeline fake-api --help`)",
                   add_help=False)
    return parser


def _extract(args: argparse.Namespace) -> int:
    from pncp_pipeline.engine import extract
    from pncp_pipeline.scope import Scope
    from pncp_pipeline.settings import load_settings
    from pncp_pipeline.storage import file_factory

    settings = load_settings()
    scope = Scope.from_args(args.start, args.end, args.endpoints, page_sizes=settings.page_sizes)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    factory = file_factory(settings.duckdb_path, create_dir=settings.duckdb_path_is_default)
    result = extract(factory, scope, settings.client)
    counts = result.counts
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"{scope.describe()}: {line or 'no tasks'}; {result.pages_landed}/{result.pages_requested} "
          f"requested page(s) landed this run")
    _refresh_tables(factory, scope, settings.duckdb_path)
    if not result.complete:
        print("not every task is COMPLETE: run the same command again to resume "
              "(`pncp-pipeline status` shows what is missing)", file=sys.stderr)
        return 1
    return 0


def _refresh_tables(factory: ConnectionFactory, scope: Scope, path: Path) -> None:
    """Bring the typed tables fed by the run's endpoints up to date for its months (complete or not)."""
    import duckdb

    from pncp_pipeline import tables
    from pncp_pipeline.storage import translate

    chosen = tables.tables_for_endpoints(e.name for e in scope.endpoints)
    if not chosen:
        return
    try:
        with factory() as conn:
            results = tables.refresh(conn, scope.months, chosen)
    except duckdb.Error as e:
        raise translate(e, path) from None
    print("tables: " + ", ".join(f"{r.table} {r.rows}" for r in results) + " row(s) in these months")


def _report(args: argparse.Namespace) -> int:
    from pncp_pipeline import report
    from pncp_pipeline.scope import parse_month
    from pncp_pipeline.settings import load_settings
    from pncp_pipeline.storage import open_database

    month = parse_month(args.month) if args.month else None
    settings = load_settings()
    with open_database(settings.duckdb_path, read_only=True) as conn:
        rows = report.coverage(conn, month)
    print(report.FORMATS[args.format](rows))
    return 0


def _export(args: argparse.Namespace) -> int:
    from pncp_pipeline import export, tables
    from pncp_pipeline.scope import parse_month
    from pncp_pipeline.settings import load_settings
    from pncp_pipeline.storage import open_database

    chosen = [tables.get_table(name) for name in args.tables] if args.tables else None
    start = parse_month(args.start) if args.start else None
    end = parse_month(args.end) if args.end else None
    if start and end and start > end:
        raise UsageError(f"start month {start:%Y-%m} is after end month {end:%Y-%m}")
    settings = load_settings()
    with open_database(settings.duckdb_path, read_only=True) as conn:
        results = export.export(conn, args.out, chosen, start, end)
    for r in results:
        months = f"{r.months[0]}..{r.months[-1]}" if len(r.months) > 1 else "".join(r.months) or "no months"
        print(f"{r.table}: {r.rows} row(s), {months} -> {r.path}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pncp_pipeline import report
    from pncp_pipeline.settings import load_settings
    from pncp_pipeline.storage import open_database

    settings = load_settings()
    with open_database(settings.duckdb_path, read_only=True) as conn:
        records = report.by_endpoint_and_status(conn)
    if args.json:
        print(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not records:
        print("no tasks yet: run `pncp-pipeline extract --start YYYY-MM` first")
        return 0
    print(f"{'endpoint':32} {'status':12} {'tasks':>6} {'pages landed/expected':>23} "
          f"{'records landed/expected':>25} {'distinct':>9}")
    for r in records:
        print(f"{r['endpoint']:32} {r['status']:12} {r['tasks']:>6} {r['pages_landed']:>11}/{r['pages_expected']:<11} "
              f"{r['records_landed']:>12}/{r['records_expected']:<12} {r['records_distinct']:>9}")
    return 0


COMMANDS = {"extract": _extract, "status": _status, "report": _report, "export": _export}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fake-api":
        from pncp_pipeline.replica.cli import main as replica_main

        return replica_main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: what landed is kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
