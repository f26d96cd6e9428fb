"""Periodic experiment work: the staged rollout of winners (issue 16)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.experiments import service


@job("experiment-rollout", every=300)
async def experiment_rollout(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Advance each winner's rollout 10 -> 50 -> 100% once its stage ran its time; roll it back to the control when
    a guardrail is significantly worse for the winner."""
    return await service.advance_rollouts(conn, now=now)
