"""plan: insert the scope's tasks; the modality list is refreshed only when there is something new to plan.

A finished range therefore costs zero API requests on a rerun, and a new month still picks up a
modality the API added since the last plan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pncp_pipeline import control
from pncp_pipeline.client import PncpClient
from pncp_pipeline.endpoints import DEFAULT_MODALITIES
from pncp_pipeline.scope import Scope
from pncp_pipeline.settings import ClientSettings
from pncp_pipeline.storage import ConnectionFactory


@dataclass(frozen=True)
class PlanResult:
    new_tasks: int
    modalities: tuple[int, ...] | None  # None: nothing to plan, the list was not needed


async def _modalities(settings: ClientSettings) -> tuple[int, ...]:
    async with PncpClient(settings) as client:
        return await client.modalities()


def run(factory: ConnectionFactory, scope: Scope, settings: ClientSettings) -> PlanResult:
    """The file is not held while the modality table is fetched: that request can take seconds."""
    with factory() as conn:
        if control.is_fully_planned(conn, scope):
            return PlanResult(0, None)
    needs_modalities = any(e.per_modality for e in scope.endpoints)
    modalities = asyncio.run(_modalities(settings)) if needs_modalities else DEFAULT_MODALITIES
    with factory() as conn:
        return PlanResult(control.plan(conn, scope, modalities), modalities)
