"""`pncp-pipeline fake-api`: serve the replica on a local port until interrupted."""

from __future__ import annotations

import argparse
import sys

from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.faults import KINDS, Faults
from pncp_pipeline.replica.server import bind, serve_forever


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
    p.add_argument("--unstable-order", type=_probability, default=0.0, metavar="P",
                   help="probability that a page boundary repeats the previous page's last record (0..1)")
    p.add_argument("--burst-429-every", type=int, default=0, metavar="N",
                   help="every N list requests, a burst of 429s begins (0: off)")
    p.add_argument("--burst-429-length", type=int, default=0, metavar="N", help="requests in each 429 burst")
    p.add_argument("--drift-records", type=int, default=0, metavar="N",
                   help="records a window gains (or loses, if negative) after --drift-after requests to it")
    p.add_argument("--drift-after", type=int, default=0, metavar="N", help="requests to a window before it drifts")
    p.add_argument("--drift-max-steps", type=int, default=1, metavar="N", help="how many times a window drifts")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.scale <= 0 or args.latency_ms < 0 or args.stall_s < 0:
        print("fake-api: --scale must be > 0, --latency-ms and --stall-s >= 0", file=sys.stderr)
        return 2
    if not 0 < args.port < 65536:
        print(f"fake-api: --port must be between 1 and 65535, got {args.port}", file=sys.stderr)
        return 2
    try:
        faults = Faults(**{k: getattr(args, k) for k in KINDS}, stall_s=args.stall_s,
                        unstable_order=args.unstable_order, burst_429_every=args.burst_429_every,
                        burst_429_length=args.burst_429_length, drift_records=args.drift_records,
                        drift_after=args.drift_after, drift_max_steps=args.drift_max_steps)
    except ValueError as e:
        print(f"fake-api: {e}", file=sys.stderr)
        return 2
    replica = Replica(seed=args.seed, scale=args.scale, latency_ms=args.latency_ms, faults=faults)
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        print(f"fake-api: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"PNCP replica on http://{args.host}:{args.port}/api/consulta (seed {args.seed}, scale {args.scale})",
          file=sys.stderr, flush=True)
    serve_forever(replica, sock)
    return 0
