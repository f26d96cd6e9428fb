"""Consumed Entitlements usage counters (issue 10 §2 Plan usage)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.usage import service
from sales.usage.schemas import UsageUpdated


@handles("entitlements.usage.updated")
async def usage_updated(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 10 §2: the latest measurement per (user, plan, quota) wins; an older event changes nothing.
    Not audited per event: the inbox keeps each envelope, and usage is Entitlements' fact, not a decision."""
    data = UsageUpdated.model_validate(object_data(event))
    await service.record_usage(conn, user_id=data.user_id, measurement=data, now=event.now)
