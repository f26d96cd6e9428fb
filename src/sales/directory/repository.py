"""The only place directory SQL lives."""
from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, delete, false, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal
from sales.core.db import insert_unless_exists
from sales.directory.scoping import owned_or_supervised
from sales.directory.models import rm_leaves, rm_localities, rms, teams

RM_COLUMNS = [rms.c[name] for name in (
    "id", "name", "email", "phone", "team_id", "city", "zone", "localities", "property_types", "segments",
    "max_deal_value", "capacity", "max_leads_per_day", "max_leads_per_week", "base_salary", "performance_score", "is_backup", "status", "availability",
    "shifts", "active_leads", "created_at", "updated_at")]


def readable_rms(principal: Principal) -> ColumnElement[bool]:
    """What this principal may read of the RM directory (ARCHITECTURE.md §2.2 scoping)."""
    return owned_or_supervised(principal, owner=rms.c.id)


def readable_teams(principal: Principal) -> ColumnElement[bool]:
    if principal.reads_org_wide:
        return true()
    own_team = select(rms.c.team_id).where(rms.c.id == principal.sub).scalar_subquery()
    return or_(teams.c.id.in_(principal.team_ids) if principal.team_ids else false(), teams.c.id == own_team)


# --- teams -------------------------------------------------------------------------------------

async def get_team(conn: AsyncConnection, team_id: UUID, *, scope: ColumnElement[bool] = true(),
                   for_update: bool = False) -> Any:
    query = select(teams).where(teams.c.id == team_id, scope)
    if for_update:
        query = query.with_for_update(of=teams)
    return (await conn.execute(query)).first()


async def list_teams(conn: AsyncConnection, *, scope: ColumnElement[bool], city: str | None, limit: int,
                     after: tuple[str, UUID] | None) -> list[Any]:
    query = select(teams).where(scope)
    if city:
        query = query.where(teams.c.city == city)
    if after:
        query = query.where(or_(teams.c.name > after[0], and_(teams.c.name == after[0], teams.c.id > after[1])))
    return list((await conn.execute(query.order_by(teams.c.name, teams.c.id).limit(limit + 1))).all())


async def team_cities(conn: AsyncConnection, team_ids: frozenset[UUID]) -> list[str]:
    if not team_ids:
        return []
    return list((await conn.execute(select(teams.c.city).where(teams.c.id.in_(team_ids)).distinct())).scalars())


async def insert_team(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """The new team, or None when its id exists (also when created concurrently)."""
    query = insert_unless_exists(conn, teams, teams.c.id).values(**values).returning(teams)
    return (await conn.execute(query)).first()


async def update_team(conn: AsyncConnection, team_id: UUID, values: dict[str, Any]) -> Any:
    return (await conn.execute(update(teams).where(teams.c.id == team_id).values(**values).returning(teams))).one()


# --- RMs ---------------------------------------------------------------------------------------

async def get_rm(conn: AsyncConnection, rm_id: UUID, *, scope: ColumnElement[bool] = true(),
                 for_update: bool = False) -> Any:
    query = select(*RM_COLUMNS).where(rms.c.id == rm_id, scope)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def list_rms(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                   after: tuple[str, UUID] | None) -> list[Any]:
    query = select(*RM_COLUMNS).where(scope)
    for name in ("team_id", "city", "zone", "status", "availability", "is_backup"):
        if filters.get(name) is not None:
            query = query.where(rms.c[name] == filters[name])
    if after:
        query = query.where(or_(rms.c.name > after[0], and_(rms.c.name == after[0], rms.c.id > after[1])))
    return list((await conn.execute(query.order_by(rms.c.name, rms.c.id).limit(limit + 1))).all())


async def existing_rm_ids(conn: AsyncConnection, ids: list[UUID]) -> set[UUID]:
    return set((await conn.execute(select(rms.c.id).where(rms.c.id.in_(ids)))).scalars())


async def existing_team_ids(conn: AsyncConnection, ids: set[UUID]) -> set[UUID]:
    if not ids:
        return set()
    return set((await conn.execute(select(teams.c.id).where(teams.c.id.in_(ids)))).scalars())


async def insert_rm(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """The new RM, or None when its id exists (also when created concurrently)."""
    row = (await conn.execute(insert_unless_exists(conn, rms, rms.c.id).values(**values)
                              .returning(*RM_COLUMNS))).first()
    if row is not None:
        await _replace_localities(conn, row.id, row.city, row.localities)
    return row


async def update_rm(conn: AsyncConnection, rm_id: UUID, values: dict[str, Any]) -> Any:
    row = (await conn.execute(update(rms).where(rms.c.id == rm_id).values(**values).returning(*RM_COLUMNS))).one()
    if "localities" in values or "city" in values:
        await _replace_localities(conn, row.id, row.city, row.localities)
    return row


def locality_key(value: str) -> str:
    return " ".join(value.lower().split())


async def _replace_localities(conn: AsyncConnection, rm_id: UUID, city: str, localities: list[str]) -> None:
    await conn.execute(delete(rm_localities).where(rm_localities.c.rm_id == rm_id))
    keys = {locality_key(loc) for loc in localities}
    if keys:
        await conn.execute(insert(rm_localities), [
            {"rm_id": rm_id, "city": locality_key(city), "locality": key} for key in sorted(keys)])


# --- leaves ------------------------------------------------------------------------------------

async def insert_leave(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return (await conn.execute(insert(rm_leaves).values(**values).returning(rm_leaves))).one()


async def list_leaves(conn: AsyncConnection, rm_id: UUID, *, from_date: date | None = None) -> list[Any]:
    query = select(rm_leaves).where(rm_leaves.c.rm_id == rm_id)
    if from_date:
        query = query.where(rm_leaves.c.end_date >= from_date)
    return list((await conn.execute(query.order_by(rm_leaves.c.start_date, rm_leaves.c.id))).all())


async def overlapping_leave(conn: AsyncConnection, rm_id: UUID, start: date, end: date) -> Any:
    return (await conn.execute(select(rm_leaves.c.id).where(
        rm_leaves.c.rm_id == rm_id, rm_leaves.c.start_date <= end, rm_leaves.c.end_date >= start))).first()
