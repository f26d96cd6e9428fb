"""The only place journey SQL lives: requirements versions, listing candidates, shortlists, shares, feedback."""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.inventory.models import listings as l
from sales.journey.enums import Criterion
from sales.journey.models import feedback, requirements, shares, shortlist_versions, shortlists

LISTING_COLUMNS = (l.c.id, l.c.city, l.c.locality, l.c.lat, l.c.lon, l.c.property_type, l.c.deal_type, l.c.bhk,
                   l.c.area_sqft, l.c.price, l.c.furnishing, l.c.amenities, l.c.available_from, l.c.status,
                   l.c.listed_at)
KM_PER_DEGREE = 111.32


# --- requirements ------------------------------------------------------------------------------------------------

async def latest_requirements(conn: AsyncConnection, pipeline_id: UUID) -> Any:
    query = (select(requirements).where(requirements.c.pipeline_id == pipeline_id)
             .order_by(requirements.c.version.desc()).limit(1))
    return (await conn.execute(query)).first()


async def insert_requirements(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """False when a concurrent save took this version number first (the unique index decides)."""
    statement = dialect_insert(conn, requirements).values(**values).on_conflict_do_nothing(
        index_elements=["pipeline_id", "version"])
    return (await conn.execute(statement.returning(requirements.c.id))).first() is not None


async def requirement_versions(conn: AsyncConnection, pipeline_id: UUID) -> list[Any]:
    query = (select(requirements).where(requirements.c.pipeline_id == pipeline_id)
             .order_by(requirements.c.version.desc()))
    return list((await conn.execute(query)).all())


async def customer_requirements(conn: AsyncConnection, customer_id: UUID, *, except_pipeline: UUID,
                                limit: int = 100) -> list[Any]:
    """The customer's requirements on their other pipelines, newest first."""
    query = (select(requirements).where(requirements.c.customer_id == customer_id,
                                        requirements.c.pipeline_id != except_pipeline)
             .order_by(requirements.c.created_at.desc(), requirements.c.version.desc()).limit(limit))
    return list((await conn.execute(query)).all())


# --- listing candidates --------------------------------------------------------------------------------------

def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """South, north, west, east edges of a box holding the circle (a cheap, index-friendly pre-filter)."""
    dlat = radius_km / KM_PER_DEGREE
    dlon = radius_km / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _in_box(lat: float, lon: float, radius_km: float) -> ColumnElement[bool]:
    south, north, west, east = bounding_box(lat, lon, radius_km)
    return and_(l.c.lat.between(Decimal(str(round(south, 6))), Decimal(str(round(north, 6)))),
                l.c.lon.between(Decimal(str(round(west, 6))), Decimal(str(round(east, 6)))))


def _location_filter(req: Any, slack: float = 1.0) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if req.localities:
        parts.append(func.lower(l.c.locality).in_([x.lower() for x in req.localities]))
    if req.near is not None:
        parts.append(_in_box(float(req.near.lat), float(req.near.lon), float(req.near.radius_km) * slack))
    return or_(*parts) if parts else false()


def _must_filters(req: Any, musts: set[Criterion]) -> list[ColumnElement[bool]]:
    """SQL for the must-haves that SQL can decide exactly (amenities are left to the rules)."""
    where: list[ColumnElement[bool]] = []
    if Criterion.budget in musts:
        if req.budget_min is not None:
            where.append(l.c.price >= req.budget_min)
        if req.budget_max is not None:
            where.append(l.c.price <= req.budget_max)
    if Criterion.area in musts:
        if req.area_min is not None:
            where.append(l.c.area_sqft >= req.area_min)
        if req.area_max is not None:
            where.append(l.c.area_sqft <= req.area_max)
    if Criterion.bhk in musts:
        if req.bhk_min is not None:
            where.append(l.c.bhk >= req.bhk_min)
        if req.bhk_max is not None:
            where.append(l.c.bhk <= req.bhk_max)
    if Criterion.property_type in musts:
        where.append(l.c.property_type == req.property_type)
    if Criterion.furnishing in musts:
        where.append(l.c.furnishing == str(req.furnishing))
    if Criterion.move_in in musts:
        where.append(or_(l.c.available_from.is_(None), l.c.available_from <= req.move_in_by))
    if Criterion.location in musts:
        where.append(_location_filter(req))
    return where


def _coarse_score(req: Any, nice: dict[Criterion, int]) -> ColumnElement[Any]:
    """A rough SQL pre-rank over the nice-to-haves (in or near the band earns the weight), so that only the
    best candidates reach the exact rules."""
    terms: list[ColumnElement[Any]] = [literal(0)]

    def term(condition: ColumnElement[bool], weight: int) -> None:
        terms.append(case((condition, weight), else_=0))

    if Criterion.budget in nice:
        band = []
        if req.budget_min is not None:
            band.append(l.c.price >= req.budget_min * Decimal("0.9"))
        if req.budget_max is not None:
            band.append(l.c.price <= req.budget_max * Decimal("1.1"))
        term(and_(*band), nice[Criterion.budget])
    if Criterion.location in nice:
        term(_location_filter(req, slack=1.5), nice[Criterion.location])
    if Criterion.bhk in nice:
        band = []
        if req.bhk_min is not None:
            band.append(l.c.bhk >= req.bhk_min - 1)
        if req.bhk_max is not None:
            band.append(l.c.bhk <= req.bhk_max + 1)
        term(and_(*band), nice[Criterion.bhk])
    if Criterion.property_type in nice:
        term(l.c.property_type == req.property_type, nice[Criterion.property_type])
    if Criterion.furnishing in nice:
        term(l.c.furnishing == str(req.furnishing), nice[Criterion.furnishing])
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


async def candidates(conn: AsyncConnection, req: Any, *, musts: set[Criterion], nice: dict[Criterion, int],
                     limit: int) -> list[Any]:
    """AVAILABLE listings of the deal type passing the SQL-decidable must-haves, best `limit` by a coarse
    pre-rank over the nice-to-haves."""
    query = (select(*LISTING_COLUMNS)
             .where(l.c.status == "AVAILABLE", l.c.deal_type == str(req.deal_type), *_must_filters(req, musts))
             .order_by(_coarse_score(req, nice).desc(), l.c.price, l.c.listed_at.desc(), l.c.id)
             .limit(limit))
    return list((await conn.execute(query)).all())


async def locality_centres(conn: AsyncConnection, names: list[str]) -> list[Any]:
    """The mean position of each named locality's listings (lower-cased name, lat, lon)."""
    if not names:
        return []
    key = func.lower(l.c.locality)
    query = (select(key.label("name"), func.avg(l.c.lat).label("lat"), func.avg(l.c.lon).label("lon"))
             .where(key.in_([n.lower() for n in names])).group_by(key))
    return list((await conn.execute(query)).all())


async def listings_by_id(conn: AsyncConnection, ids: list[UUID]) -> list[Any]:
    if not ids:
        return []
    return list((await conn.execute(select(*LISTING_COLUMNS).where(l.c.id.in_(ids)))).all())


# --- shortlists --------------------------------------------------------------------------------------------------

async def insert_shortlist(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(shortlists.insert().values(**values))


async def get_shortlist(conn: AsyncConnection, shortlist_id: UUID) -> Any:
    return (await conn.execute(select(shortlists).where(shortlists.c.id == shortlist_id))).first()


async def shortlists_of(conn: AsyncConnection, pipeline_id: UUID) -> list[Any]:
    query = (select(shortlists).where(shortlists.c.pipeline_id == pipeline_id)
             .order_by(shortlists.c.created_at.desc(), shortlists.c.id))
    return list((await conn.execute(query)).all())


async def update_shortlist(conn: AsyncConnection, shortlist_id: UUID, *, seen_revision: int,
                           values: dict[str, Any]) -> bool:
    """Apply only if nobody changed the shortlist since `seen_revision` was read; True when applied."""
    result = await conn.execute(shortlists.update()
                                .where(shortlists.c.id == shortlist_id, shortlists.c.revision == seen_revision)
                                .values(**values, revision=seen_revision + 1).returning(shortlists.c.id))
    return result.first() is not None


async def insert_version(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    statement = dialect_insert(conn, shortlist_versions).values(**values).on_conflict_do_nothing(
        index_elements=["shortlist_id", "version"])
    return (await conn.execute(statement.returning(shortlist_versions.c.version))).first() is not None


async def get_version(conn: AsyncConnection, shortlist_id: UUID, version: int) -> Any:
    query = select(shortlist_versions).where(shortlist_versions.c.shortlist_id == shortlist_id,
                                             shortlist_versions.c.version == version)
    return (await conn.execute(query)).first()


async def versions(conn: AsyncConnection, shortlist_id: UUID) -> list[Any]:
    query = (select(shortlist_versions).where(shortlist_versions.c.shortlist_id == shortlist_id)
             .order_by(shortlist_versions.c.version.desc()))
    return list((await conn.execute(query)).all())


# --- shares and feedback -------------------------------------------------------------------------------------

async def insert_share(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(shares.insert().values(**values))


async def share_by_hash(conn: AsyncConnection, token_hash: str) -> Any:
    query = (select(shares.c.id.label("share_id"), shares.c.expires_at, shares.c.shortlist_id, shortlists.c.pipeline_id)
             .select_from(shares.join(shortlists, shortlists.c.id == shares.c.shortlist_id))
             .where(shares.c.token_hash == token_hash))
    return (await conn.execute(query)).first()


async def insert_feedback(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(feedback.insert().values(**values))


async def feedback_of_shortlist(conn: AsyncConnection, shortlist_id: UUID) -> list[Any]:
    query = (select(feedback).where(feedback.c.shortlist_id == shortlist_id)
             .order_by(feedback.c.seq.desc()))
    return list((await conn.execute(query)).all())


async def feedback_of_pipeline(conn: AsyncConnection, pipeline_id: UUID) -> list[Any]:
    query = (select(feedback).where(feedback.c.pipeline_id == pipeline_id)
             .order_by(feedback.c.seq.desc()))
    return list((await conn.execute(query)).all())
