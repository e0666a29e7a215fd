"""The `pncp-pipeline` command: headless entry points for cron users, scripts and the offline demo."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "fake-api":
        from pncp_pipeline.replica.cli import main as replica_main

        return replica_main(argv[1:])
    print("usage: pncp-pipeline {fake-api} ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
