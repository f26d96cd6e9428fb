"""Periodic dashboard work (issue 18)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.dashboards import repository, snapshots


@job("dashboards-refresh", every=120)
async def dashboards_refresh(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Recompute the console's dashboard snapshots read in the last day and older than 10 minutes (a batch per
    run), and drop those nobody read for a week; count the forecast's learning of the day if not yet counted (a
    cold forecast page then only counts the rows closed since the day started)."""
    await repository.day_counts(conn, now)
    return await snapshots.refresh(conn, now=now)
