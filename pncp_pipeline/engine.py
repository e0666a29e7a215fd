"""One extraction, start to finish: the four phases in order, as the CLI (and tests) run them."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from pncp_pipeline import control
from pncp_pipeline.phases import discover, fetch, plan, reconcile
from pncp_pipeline.phases.download import Logger
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory

log = logging.getLogger("pncp_pipeline")


@dataclass
class ExtractionResult:
    run_id: str
    new_tasks: int
    discovered: int
    pages_requested: int
    pages_landed: int
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
    planned = plan.run(factory, scope, settings)
    logger.info(f"plan: {planned.new_tasks} new task(s) for {scope.describe()}")
    discovered = discover.run(factory, scope, settings, run_id, logger)
    fetched = fetch.run(factory, scope, settings, run_id, logger)
    summary = reconcile.run(factory, scope)
    return ExtractionResult(run_id, planned.new_tasks, discovered.claimed, fetched.requested, fetched.landed, summary)
