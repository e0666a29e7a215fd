"""reconcile: recompute every active task's missing pages and status from what actually landed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pncp_pipeline import control
from pncp_pipeline.scope import Scope
from pncp_pipeline.storage import ConnectionFactory


@dataclass(frozen=True)
class ReconcileResult:
    drifted: int  # tasks whose totals changed under us: they go back to discovery
    summary: list[dict[str, Any]]


def run(factory: ConnectionFactory, scope: Scope) -> ReconcileResult:
    with factory() as conn:
        drifted = control.reconcile(conn, scope)
        return ReconcileResult(drifted, control.summary(conn, scope))
