"""Periodic visit work (issue 15): reminders before visits."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.visits import service


@job("visit-reminders", every=300)
async def visit_reminders(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """The customer and the RM are reminded of each pending visit 24 h and 1 h before it, each once."""
    return {"processed": await service.send_reminders(conn, now=now)}
