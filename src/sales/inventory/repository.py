"""The only place listing SQL lives. The city average of 7-day views is computed here, in SQL (sum, count)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.inventory.enums import ListingStatus
from sales.inventory.models import listings as l

LISTING_FIELDS = ("owner_id", "city", "locality", "lat", "lon", "property_type", "deal_type", "bhk", "area_sqft",
                  "price", "furnishing", "amenities", "available_from", "status", "listed_at")


def _city_key(column: Any) -> ColumnElement[str]:
    return func.lower(column)


def _with_city_stats(where: list[ColumnElement[bool]], city_key: Any = None) -> Select[Any]:
    """Listing columns plus the sum and count of 7-day views over AVAILABLE listings of the same city
    (only of `city_key`'s city when given: a lower-cased name or a scalar subquery)."""
    c = l.alias("city_listings")
    stats = (select(_city_key(c.c.city).label("city_key"), func.sum(c.c.views_7d).label("city_views"),
                    func.count(c.c.views_7d).label("city_listings"))
             .where(c.c.status == ListingStatus.AVAILABLE.value, c.c.views_7d.is_not(None)))
    if city_key is not None:
        stats = stats.where(_city_key(c.c.city) == city_key)
    stats_q = stats.group_by(_city_key(c.c.city)).subquery()
    return (select(l.c.id, *[l.c[f] for f in LISTING_FIELDS], l.c.views_7d, l.c.updated_at,
                   stats_q.c.city_views, stats_q.c.city_listings)
            .select_from(l.outerjoin(stats_q, stats_q.c.city_key == _city_key(l.c.city)))
            .where(*where))


async def get(conn: AsyncConnection, listing_id: UUID) -> Any:
    own = l.alias("own")
    query = _with_city_stats([l.c.id == listing_id],
                             select(_city_key(own.c.city)).where(own.c.id == listing_id).scalar_subquery())
    return (await conn.execute(query)).first()


async def exists(conn: AsyncConnection, listing_id: UUID) -> bool:
    return (await conn.execute(select(l.c.id).where(l.c.id == listing_id))).first() is not None


async def list_(conn: AsyncConnection, *, filters: dict[str, Any], limit: int,
                after: tuple[datetime, UUID] | None) -> list[Any]:
    where: list[ColumnElement[bool]] = []
    if filters.get("city"):
        where.append(_city_key(l.c.city) == func.lower(filters["city"]))
    if filters.get("locality"):
        where.append(func.lower(l.c.locality) == func.lower(filters["locality"]))
    for name in ("property_type", "deal_type", "bhk", "status", "owner_id"):
        if filters.get(name) is not None:
            where.append(l.c[name] == filters[name])
    if filters.get("price_min") is not None:
        where.append(l.c.price >= filters["price_min"])
    if filters.get("price_max") is not None:
        where.append(l.c.price <= filters["price_max"])
    if after is not None:
        where.append(or_(l.c.listed_at < after[0], and_(l.c.listed_at == after[0], l.c.id < after[1])))
    city_key = func.lower(filters["city"]) if filters.get("city") else None
    query = _with_city_stats(where, city_key).order_by(l.c.listed_at.desc(), l.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def upsert(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert the listing or replace its fields, unless the stored version changed later (one statement, both
    databases); True when applied. Stats columns are left alone."""
    statement = dialect_insert(conn, l).values(**values)
    changed = {f: statement.excluded[f] for f in (*LISTING_FIELDS, "updated_at")}
    result = await conn.execute(statement.on_conflict_do_update(
        index_elements=[l.c.id], set_=changed, where=l.c.updated_at <= statement.excluded.updated_at)
        .returning(l.c.id))
    return result.first() is not None


async def deactivate(conn: AsyncConnection, listing_id: UUID, *, at: datetime) -> bool:
    """INACTIVE as of `at`, unless a later change is stored; True when applied."""
    result = await conn.execute(l.update().where(l.c.id == listing_id, l.c.updated_at <= at)
                                .values(status=ListingStatus.INACTIVE.value, updated_at=at).returning(l.c.id))
    return result.first() is not None


async def set_stats(conn: AsyncConnection, listing_id: UUID, *, views_7d: int, at: datetime) -> bool:
    """Store 7-day views measured at `at`, unless a later measurement is stored; True when applied."""
    result = await conn.execute(l.update().where(l.c.id == listing_id, or_(l.c.views_at.is_(None), l.c.views_at <= at))
                                .values(views_7d=views_7d, views_at=at).returning(l.c.id))
    return result.first() is not None
