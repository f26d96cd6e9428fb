"""Consumed Inventory events (issue 10 §2). Events arrive out of order: the newest change of a listing wins,
by its `updated_at` / `removed_at` / `at`, else the event's time, else its arrival."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.events.times import event_time
from sales.inventory import service
from sales.inventory.schemas import ListingRemoved, ListingStats, ListingUpserted


@handles("inventory.listing.upserted")
async def listing_upserted(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Create or replace the listing unless a later change of it is stored."""
    data = ListingUpserted.model_validate(object_data(event))
    await service.apply_upsert(conn, data=data, version=data.updated_at or event_time(event), now=event.now)


@handles("inventory.listing.removed")
async def listing_removed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """The listing becomes INACTIVE (its row is kept); an unknown listing is retried, then parked."""
    data = ListingRemoved.model_validate(object_data(event))
    await service.remove(conn, listing_id=data.listing_id, at=data.removed_at or event_time(event))


@handles("inventory.listing.stats")
async def listing_stats(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """7-day views of a listing; older stats never overwrite newer ones; an unknown listing is retried."""
    data = ListingStats.model_validate(object_data(event))
    await service.record_stats(conn, listing_id=data.listing_id, views_7d=data.views_7d, at=data.at)
