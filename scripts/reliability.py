"""`make reliability`: the fault, drift and chaos scenarios at a larger size, as a table."""

from __future__ import annotations

import sys
import time

from pncp_pipeline_tests.reliability.scenarios import LARGE, all_scenarios

HEADER = ["scenario", "tasks", "pages", "faults injected", "pages lost", "duplicate pages", "redundant requests",
          "final status"]


def main() -> int:
    started = time.monotonic()
    figures = all_scenarios(LARGE)
    rows = [HEADER, *[f.row() for f in figures]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(HEADER, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    print()
    for f in figures:
        print(f"{f.scenario}: {f.extra}")
    print(f"\n{LARGE}; {time.monotonic() - started:.0f} s")
    bad = [f.scenario for f in figures if f.pages_lost or f.duplicate_pages or "PARTIAL" in f.final_status
           or "FAILED" in f.final_status]
    if bad:
        print(f"FAILED: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
