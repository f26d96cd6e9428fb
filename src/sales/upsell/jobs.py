"""Periodic upsell work: offer expiry (issue 11)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.upsell import service


@job("upsell-expiry", every=300)
async def upsell_expiry(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """A PENDING / PRESENTED / CLICKED upsell older than its offer window (7 days) becomes EXPIRED."""
    return {"processed": await service.expire_offers(conn, now=now)}
