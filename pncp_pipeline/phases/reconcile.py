"""reconcile: recompute every active task's missing pages and status from what actually landed."""

from __future__ import annotations

from typing import Any

from pncp_pipeline import control
from pncp_pipeline.scope import Scope
from pncp_pipeline.storage import ConnectionFactory


def run(factory: ConnectionFactory, scope: Scope) -> list[dict[str, Any]]:
    with factory() as conn:
        control.reconcile(conn, scope)
        return control.summary(conn, scope)
