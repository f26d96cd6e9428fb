"""Periodic commission work: CMR-001 eligibility and CMR-004 team bonuses (issue 13)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.commissions import service
from sales.core.jobs import job


@job("commissions-earn", every=300)
async def commissions_earn(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """CMR-001: PENDING lines 30 days after their sale become EARNED (`sales.commission.earned`)."""
    return {"processed": await service.earn_due(conn, now=now)}


@job("commissions-team-bonus", every=900)
async def commissions_team_bonus(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """CMR-004: a bonus line for each member of a team whose target is ACHIEVED (once per target and member)."""
    return {"processed": await service.team_bonuses(conn, now=now)}
