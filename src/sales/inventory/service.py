"""Listing use cases: upsert / remove / stats from Inventory (newest change wins), reads with view statistics.

Never commits. A removed listing keeps its row with status INACTIVE (shortlists and orders may still refer
to it). Event-fed writes are not audited row by row (the inbox keeps every consumed envelope); API writes are.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.inventory import repository, rules
from sales.inventory.errors import ListingNotFound, StaleListing
from sales.inventory.schemas import ListingRead, ListingUpserted, ListingWrite


def _read(row: Any) -> ListingRead:
    m = row._mapping
    return ListingRead(**{k: m[k] for k in ("id", *repository.LISTING_FIELDS, "views_7d")},
                       city_avg_views_7d=rules.city_average(m["city_views"], m["city_listings"] or 0))


def _values(listing_id: UUID, data: ListingWrite | ListingUpserted, *, version: datetime,
            now: datetime) -> dict[str, Any]:
    values = data.model_dump(include=set(repository.LISTING_FIELDS))
    values.update(id=listing_id, deal_type=data.deal_type.value, status=data.status.value,
                  furnishing=data.furnishing.value if data.furnishing else None, updated_at=version, created_at=now)
    return values


async def apply_upsert(conn: AsyncConnection, *, data: ListingUpserted, version: datetime, now: datetime) -> bool:
    """Store Inventory's listing as changed at `version`; False when a later change is already stored."""
    return await repository.upsert(conn, _values(data.id, data, version=version, now=now))


async def put_listing(conn: AsyncConnection, principal: Principal, *, listing_id: UUID, data: ListingWrite,
                      now: datetime) -> tuple[ListingRead, bool]:
    """Backfill a listing (SERVICE, SALES_ADMIN): create or replace it; an older `updated_at` than stored is 409."""
    if data.id is not None and data.id != listing_id:
        raise InvalidInput(("id",), "id must equal the listing id in the path")
    before = await repository.get(conn, listing_id)
    version = data.updated_at or now
    if not await repository.upsert(conn, _values(listing_id, data, version=version, now=now)):
        stored = await repository.get(conn, listing_id)
        raise StaleListing(f"listing {listing_id} was changed at {stored.updated_at.isoformat()}, after "
                           f"{version.isoformat()}")
    listing = _read(await repository.get(conn, listing_id))
    await audit.record(conn, principal, action="listing.upserted", entity_type="listing", entity_id=listing_id,
                       at=now, before=_read(before) if before else None, after=listing)
    return listing, before is None


async def remove(conn: AsyncConnection, *, listing_id: UUID, at: datetime) -> bool:
    """Inventory removed the listing: INACTIVE as of `at` (row kept). Unknown ids raise (retried: the upsert
    may still be on its way); False when a later change is stored."""
    if await repository.deactivate(conn, listing_id, at=at):
        return True
    if not await repository.exists(conn, listing_id):
        raise ListingNotFound(f"listing {listing_id} not found")
    return False


async def record_stats(conn: AsyncConnection, *, listing_id: UUID, views_7d: int, at: datetime) -> bool:
    """7-day views measured at `at`; an older measurement never overwrites a newer one; unknown ids raise."""
    if await repository.set_stats(conn, listing_id, views_7d=views_7d, at=at):
        return True
    if not await repository.exists(conn, listing_id):
        raise ListingNotFound(f"listing {listing_id} not found")
    return False


async def get_listing(conn: AsyncConnection, principal: Principal, *, listing_id: UUID) -> ListingRead:
    """One listing with its views and the city average (any staff role; listings are not scoped)."""
    row = await repository.get(conn, listing_id)
    if row is None:
        raise ListingNotFound(f"listing {listing_id} not found")
    return _read(row)


async def list_listings(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                        cursor: list[Any] | None) -> list[ListingRead]:
    """Listings matching the filters, newest listed first."""
    after = None
    if cursor is not None:
        try:
            listed_at = datetime.fromisoformat(str(cursor[0]).replace("Z", "+00:00"))
            if listed_at.tzinfo is None or len(cursor) != 2:
                raise ValueError
            after = (listed_at.astimezone(UTC), UUID(str(cursor[1])))
        except (ValueError, IndexError, TypeError, OverflowError):
            raise InvalidInput.query(("cursor",), "malformed cursor") from None
    low, high = filters.get("price_min"), filters.get("price_max")
    if low is not None and high is not None and low > high:
        raise InvalidInput.query(("price_min",), "price_min must not exceed price_max")
    return [_read(r) for r in await repository.list_(conn, filters=filters, limit=limit, after=after)]
