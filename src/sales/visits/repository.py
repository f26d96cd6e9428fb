"""The only place visit SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.directory.scoping import owned_or_supervised
from sales.core.auth import Principal
from sales.inventory.models import listings
from sales.leads.models import leads
from sales.pipelines.models import sales_pipelines as p
from sales.visits.enums import PENDING
from sales.visits.models import owner_availability, visit_plans, visit_stops

PLAN_COLUMNS = [*visit_plans.c, p.c.rm_id, p.c.lead_id, p.c.stage, p.c.outcome.label("pipeline_outcome")]


def readable(principal: Principal) -> ColumnElement[bool]:
    """A plan is in scope when its pipeline is."""
    return owned_or_supervised(principal, owner=p.c.rm_id)


async def listings_by_id(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, Any]:
    rows = await conn.execute(select(listings.c.id, listings.c.lat, listings.c.lon, listings.c.status,
                                     listings.c.owner_id).where(listings.c.id.in_(ids)))
    return {row.id: row for row in rows}


async def listing_labels(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, str]:
    """What the console shows for a stop: the listing's locality and size (never its owner)."""
    rows = await conn.execute(select(listings.c.id, listings.c.locality, listings.c.bhk).where(listings.c.id.in_(ids)))
    return {row.id: f"{row.locality} · {row.bhk} BHK" if row.bhk else row.locality for row in rows}


async def availability(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, list[tuple[datetime, datetime]]]:
    rows = await conn.execute(select(owner_availability).where(owner_availability.c.listing_id.in_(ids)))
    return {row.listing_id: [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in row.windows]
            for row in rows}


async def save_availability(conn: AsyncConnection, *, listing_id: UUID, windows: list[list[str]],
                            reported_at: datetime, now: datetime) -> bool:
    """Store the owner's windows unless a newer report is stored already; False when this one is older."""
    values = {"listing_id": listing_id, "windows": windows, "reported_at": reported_at, "updated_at": now}
    statement = dialect_insert(conn, owner_availability).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[owner_availability.c.listing_id],
        set_={"windows": statement.excluded.windows, "reported_at": statement.excluded.reported_at,
              "updated_at": statement.excluded.updated_at},
        where=owner_availability.c.reported_at <= statement.excluded.reported_at).returning(
        owner_availability.c.listing_id)
    return (await conn.execute(statement)).first() is not None


async def insert_plan(conn: AsyncConnection, values: dict[str, Any], stops: list[dict[str, Any]]) -> None:
    await conn.execute(insert(visit_plans).values(**values))
    await conn.execute(insert(visit_stops), stops)


async def get_plan(conn: AsyncConnection, plan_id: UUID, *, scope: ColumnElement[bool] = true(),
                   for_update: bool = False) -> Any:
    query = select(*PLAN_COLUMNS).select_from(visit_plans.join(p, p.c.id == visit_plans.c.pipeline_id)).where(
        visit_plans.c.id == plan_id, scope)
    if for_update:
        query = query.with_for_update(of=visit_plans)
    return (await conn.execute(query)).first()


async def stops_of(conn: AsyncConnection, plan_id: UUID) -> list[Any]:
    query = select(visit_stops).where(visit_stops.c.plan_id == plan_id).order_by(visit_stops.c.request_index)
    return list((await conn.execute(query)).all())


async def get_stop(conn: AsyncConnection, stop_id: UUID) -> Any:
    return (await conn.execute(select(visit_stops).where(visit_stops.c.id == stop_id))).first()


async def update_stop(conn: AsyncConnection, stop_id: UUID, values: dict[str, Any], *,
                      statuses: tuple[str, ...]) -> bool:
    """Change a stop still in one of `statuses` (a conditional update: a concurrent change wins once)."""
    result = await conn.execute(update(visit_stops).where(visit_stops.c.id == stop_id,
                                                         visit_stops.c.status.in_(statuses)).values(**values))
    return result.rowcount == 1


async def update_plan(conn: AsyncConnection, plan_id: UUID, values: dict[str, Any], *, version: int) -> bool:
    """Change a plan still ACTIVE at `version` (bumping it); False when something else changed it first."""
    result = await conn.execute(update(visit_plans).where(
        visit_plans.c.id == plan_id, visit_plans.c.version == version, visit_plans.c.status == "ACTIVE").values(
        **values, version=version + 1))
    return result.rowcount == 1


async def complete_plan(conn: AsyncConnection, plan_id: UUID, *, now: datetime) -> bool:
    """ACTIVE -> COMPLETED once no stop is pending; True for the one transaction that completed it."""
    pending = select(visit_stops.c.id).where(visit_stops.c.plan_id == plan_id, visit_stops.c.status.in_(PENDING))
    result = await conn.execute(update(visit_plans).where(
        visit_plans.c.id == plan_id, visit_plans.c.status == "ACTIVE", ~pending.exists()).values(
        status="COMPLETED", updated_at=now))
    return result.rowcount == 1


async def reminders_due(conn: AsyncConnection, *, column: str, start_from: datetime, start_to: datetime,
                        limit: int = 500) -> list[Any]:
    """Pending stops starting in [start_from, start_to] whose `column` reminder was not sent, with who to tell."""
    s = visit_stops
    query = (select(s.c.id, s.c.plan_id, s.c.listing_id, s.c.start_at, s.c.end_at, p.c.rm_id, p.c.id.label(
        "pipeline_id"), leads.c.customer_id)
             .select_from(s.join(visit_plans, visit_plans.c.id == s.c.plan_id)
                          .join(p, p.c.id == visit_plans.c.pipeline_id).outerjoin(leads, leads.c.id == p.c.lead_id))
             .where(s.c.status.in_(PENDING), s.c[column].is_(None), s.c.start_at >= start_from,
                    s.c.start_at <= start_to)
             .order_by(s.c.start_at, s.c.id).limit(limit))
    return list((await conn.execute(query)).all())


async def mark_reminded(conn: AsyncConnection, stop_id: UUID, *, column: str, start_at: datetime,
                        now: datetime) -> bool:
    """Claim one reminder (once, even with several workers): only while unsent for this start time."""
    s = visit_stops
    result = await conn.execute(update(s).where(and_(s.c.id == stop_id, s.c[column].is_(None),
                                                     s.c.start_at == start_at)).values({column: now}))
    return result.rowcount == 1


async def customer_of(conn: AsyncConnection, lead_id: UUID) -> UUID | None:
    return (await conn.execute(select(leads.c.customer_id).where(leads.c.id == lead_id))).scalar()


async def plans_of(conn: AsyncConnection, pipeline_id: UUID, *, limit: int = 50) -> list[Any]:
    query = select(*PLAN_COLUMNS).select_from(visit_plans.join(p, p.c.id == visit_plans.c.pipeline_id)).where(
        visit_plans.c.pipeline_id == pipeline_id).order_by(visit_plans.c.created_at.desc(), visit_plans.c.id.desc())
    return list((await conn.execute(query.limit(limit))).all())
