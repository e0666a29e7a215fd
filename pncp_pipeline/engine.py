"""One extraction, start to finish, as the CLI (and tests) run it: plan, then discover and fetch in
one stream of requests (fetch.fetch says why), then reconcile."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from pncp_pipeline import control
from pncp_pipeline.limiter import AdaptiveRateLimiter
from pncp_pipeline.phases import fetch, plan, reconcile
from pncp_pipeline.phases.download import Logger
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory

log = logging.getLogger("pncp_pipeline")

#: Rounds of discover -> fetch -> reconcile after totals drift under a run; a window that keeps
#: moving (one that includes today) is left PARTIAL for a later run instead of looping.
MAX_ROUNDS = 3


@dataclass
class ExtractionResult:
    run_id: str
    new_tasks: int
    discovered: int = 0
    pages_requested: int = 0
    pages_landed: int = 0
    drifted: int = 0
    summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(control.STATUSES, 0)
        for row in self.summary:
            counts[row["status"]] += row["tasks"]
        return counts

    @property
    def complete(self) -> bool:
        counts = self.counts
        return sum(counts.values()) > 0 and counts["COMPLETE"] == sum(counts.values())


def extract(factory: ConnectionFactory, scope: Scope, settings: ClientSettings, *,
            run_id: str | None = None, logger: Logger = log) -> ExtractionResult:
    run_id = run_id or uuid.uuid4().hex
    logger.info(f"plan: {scope.describe()}")
    planned = plan.run(factory, scope, settings)
    logger.info(f"plan: {planned.new_tasks} new task(s)")
    result = ExtractionResult(run_id, planned.new_tasks)
    limiter = AdaptiveRateLimiter(settings.rate_per_s)  # one rate for discovery and fetch alike
    for _ in range(MAX_ROUNDS):
        fetched = fetch.run(factory, scope, settings, run_id, logger, limiter, discover=True)
        result.discovered += fetched.discovered
        result.pages_requested += fetched.requested
        result.pages_landed += fetched.landed
        logger.info(f"reconcile: {scope.describe()}")
        reconciled = reconcile.run(factory, scope)
        result.summary = reconciled.summary
        result.drifted += reconciled.drifted
        if not reconciled.drifted:
            break
        logger.info(f"reconcile: totals changed under {reconciled.drifted} task(s); discovering them again")
    return result
