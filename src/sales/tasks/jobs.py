"""Periodic task work (issue 15): a task for pipelines stuck in one stage."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.settings import get_settings
from sales.tasks import service


@job("stale-stage-tasks", every=3600)
async def stale_stage_tasks(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """A CALL task for each open pipeline in the same stage longer than SALES_STALE_STAGE_DAYS (default 7)."""
    max_age = timedelta(days=get_settings().stale_stage_days)
    return {"processed": await service.create_stale_stage_tasks(conn, now=now, max_age=max_age)}
