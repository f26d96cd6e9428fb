"""Listings read model: /api/v1/sales/inventory/listings."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from sales.core.fields import bounded_query_integer
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.money import Money
from sales.inventory import service
from sales.inventory.enums import DealType, ListingStatus
from sales.inventory.permissions import ListingsRead, ListingsWrite
from sales.inventory.schemas import City, ListingRead, ListingWrite, Place, PropertyType

router = make_router(tags=["inventory"])
PriceBound = Annotated[Money | None, Query()]


@router.put("/listings/{listing_id}", response_model=ListingRead,
            responses={201: {"model": ListingRead}, 409: {"description": "a newer version is stored"}})
async def put_listing(listing_id: UUID, data: ListingWrite, principal: ListingsWrite, conn: Conn, now: Now):
    """Create or replace a listing (backfill; 201 when new); an `updated_at` older than the stored one is 409."""
    listing, created = await service.put_listing(conn, principal, listing_id=listing_id, data=data, now=now)
    return respond(listing, 201 if created else 200)


@router.get("/listings/{listing_id}", response_model=ListingRead)
async def get_listing(listing_id: UUID, principal: ListingsRead, conn: Conn):
    """One listing with its 7-day views and the city average."""
    return respond(await service.get_listing(conn, principal, listing_id=listing_id))


@router.get("/listings", response_model=Page[ListingRead])
async def list_listings(principal: ListingsRead, conn: Conn, paging: Paging,
                        city: Annotated[City | None, Query()] = None,
                        locality: Annotated[Place | None, Query()] = None,
                        property_type: Annotated[PropertyType | None, Query()] = None,
                        deal_type: DealType | None = None, bhk: Annotated[bounded_query_integer(ge=0, le=50) | None, Query()] = None,
                        price_min: PriceBound = None, price_max: PriceBound = None,
                        status: ListingStatus | None = None, owner_id: UUID | None = None):
    """Listings by filter (city and locality ignore case; price range inclusive), newest listed first."""
    filters = {"city": city, "locality": locality, "property_type": property_type,
               "deal_type": deal_type.value if deal_type else None, "bhk": bhk, "price_min": price_min,
               "price_max": price_max, "status": status.value if status else None, "owner_id": owner_id}
    items = await service.list_listings(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(items, paging.limit, lambda i: (i.listed_at.isoformat(), i.id)))
