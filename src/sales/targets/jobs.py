"""Periodic target work (issue 13)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.targets import service


@job("targets-refresh", every=300)
async def targets_refresh(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Measure every open target from the facts and store the figures and live status (ACTIVE / ACHIEVED)."""
    return await service.refresh_open(conn, now=now, settle=False)


@job("targets-close", every=300)
async def targets_close(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Settle the targets whose period has ended (in their city's time zone): ACHIEVED if met, else MISSED; a
    settled target no longer moves."""
    return await service.refresh_open(conn, now=now, settle=True)
