"""`pncp-pipeline fake-api`: serve the replica on a local port until interrupted."""

from __future__ import annotations

import argparse
import sys

from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.faults import KINDS, Faults
from pncp_pipeline.replica.server import serve_forever


def _probability(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{raw} is not a probability between 0 and 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pncp-pipeline fake-api",
        description="A local replica of the PNCP consultation API (for tests, benchmarks and the offline demo).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--seed", type=int, default=1, help="dataset and fault seed (default 1)")
    p.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1.0)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="fixed latency added to every answer")
    for kind in KINDS:
        p.add_argument("--" + kind.replace("_", "-"), type=_probability, default=0.0, metavar="P",
                       help=f"probability of the {kind[5:]} fault per request (0..1, default 0)")
    p.add_argument("--stall-s", type=float, default=30.0, help="how long a stalled answer hangs (default 30)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.scale <= 0 or args.latency_ms < 0 or args.stall_s < 0:
        print("fake-api: --scale must be > 0, --latency-ms and --stall-s >= 0", file=sys.stderr)
        return 2
    if not 0 < args.port < 65536:
        print(f"fake-api: --port must be between 1 and 65535, got {args.port}", file=sys.stderr)
        return 2
    faults = Faults(**{k: getattr(args, k) for k in KINDS}, stall_s=args.stall_s)
    replica = Replica(seed=args.seed, scale=args.scale, latency_ms=args.latency_ms, faults=faults)
    print(f"PNCP replica on http://{args.host}:{args.port}/api/consulta (seed {args.seed}, scale {args.scale})",
          file=sys.stderr, flush=True)
    try:
        serve_forever(replica, args.host, args.port)
    except OSError as e:
        print(f"fake-api: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    return 0
