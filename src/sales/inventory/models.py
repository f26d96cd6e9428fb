"""Listing read model (issue 10 §2), fed by inventory.listing.* events or the backfill API."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, Index, Integer, Numeric, SmallInteger, String, Table, func

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

listings = Table(
    "inventory_listings", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("owner_id", UUIDType, nullable=False),
    Column("city", String(100), nullable=False),
    Column("locality", String(200), nullable=False),
    Column("lat", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("lon", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("property_type", String(32), nullable=False),
    Column("deal_type", String(8), nullable=False),
    Column("bhk", SmallInteger, nullable=True),
    Column("area_sqft", Integer, nullable=True),
    Column("price", Money, nullable=False),
    Column("furnishing", String(16), nullable=True),
    Column("amenities", JSONType, nullable=False),
    Column("available_from", Date, nullable=True),
    Column("status", String(16), nullable=False),
    Column("listed_at", UTCDateTime, nullable=False),
    # When Inventory last changed the listing (upsert or removal): an older change never overwrites a newer one.
    Column("updated_at", UTCDateTime, nullable=False),
    # inventory.listing.stats: views in the last 7 days as of `views_at` (NULL until stats arrive).
    Column("views_7d", Integer, nullable=True),
    Column("views_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("deal_type IN ('RENT','SALE')", name="deal_type_enum"),
    CheckConstraint("status IN ('AVAILABLE','LET_OUT','SOLD','INACTIVE')", name="status_enum"),
    CheckConstraint("views_7d IS NULL OR views_7d >= 0", name="views_non_negative"),
    Index("ix_inventory_listings_listed", "listed_at", "id"),
    Index("ix_inventory_listings_owner", "owner_id"),
)

Index("ix_inventory_listings_city", func.lower(listings.c.city), listings.c.status)
