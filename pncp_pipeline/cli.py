"""The `pncp-pipeline` command: headless entry points for cron users, scripts and the offline demo.

Every failure a user can cause or meet ends in one line on stderr and a non-zero exit (2 for usage
errors), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import defaultdict
from typing import Any

import orjson

from pncp_pipeline.errors import PipelineError, UsageError


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
    if not result.complete:
        print("not every task is COMPLETE: run the same command again to resume "
              "(`pncp-pipeline status` shows what is missing)", file=sys.stderr)
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from pncp_pipeline.settings import load_settings
    from pncp_pipeline.storage import open_database, sql

    settings = load_settings()
    with open_database(settings.duckdb_path, read_only=True) as conn:
        has_schema = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'psa'").fetchone()[0]
        rows = conn.execute(sql("status_by_endpoint")).fetchall() if has_schema else []
    keys = ("endpoint", "status", "tasks", "pages_expected", "pages_landed", "records_expected", "records_landed",
            "records_distinct")
    records = [dict(zip(keys, row)) for row in rows]
    if args.json:
        print(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not records:
        print("no tasks yet: run `pncp-pipeline extract --start YYYY-MM` first")
        return 0
    by_endpoint: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_endpoint[r["endpoint"]].append(r)
    print(f"{'endpoint':32} {'status':12} {'tasks':>6} {'pages':>15} {'records':>21}")
    for name, group in by_endpoint.items():
        for r in group:
            print(f"{name:32} {r['status']:12} {r['tasks']:>6} {r['pages_landed']:>7}/{r['pages_expected']:<7} "
                  f"{r['records_landed']:>10}/{r['records_expected']:<10}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fake-api":
        from pncp_pipeline.replica.cli import main as replica_main

        return replica_main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        return _extract(args) if args.command == "extract" else _status(args)
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
