"""The only place customer read-model SQL lives."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.customers.models import customer_preferences as prefs, customer_property_views as views


_PREFERENCES = select(prefs).where(prefs.c.user_id == bindparam("user_id", type_=prefs.c.user_id.type))


async def get_preferences(conn: AsyncConnection, user_id: UUID) -> Any:
    return (await conn.execute(_PREFERENCES, {"user_id": user_id})).first()


async def upsert_preferences(conn: AsyncConnection, values: dict[str, Any]) -> tuple[Any, bool]:
    """Insert or replace a user's preferences unless the stored ones were set later (last write wins, in one
    statement on both databases). Returns the row now stored and whether `values` were applied."""
    statement = dialect_insert(conn, prefs).values(**values)
    changed = {k: statement.excluded[k] for k in values if k != "user_id"}
    applied = (await conn.execute(statement.on_conflict_do_update(
        index_elements=[prefs.c.user_id], set_=changed, where=prefs.c.updated_at <= statement.excluded.updated_at)
        .returning(*prefs.c))).first()
    if applied is not None:
        return applied, True
    return await get_preferences(conn, values["user_id"]), False


async def insert_view(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Store one view unless its id is already stored; True when stored now."""
    result = await conn.execute(dialect_insert(conn, views).values(**values)
                                .on_conflict_do_nothing(index_elements=["id"]).returning(views.c.id))
    return result.first() is not None


async def get_view(conn: AsyncConnection, view_id: str) -> Any:
    return (await conn.execute(select(views).where(views.c.id == view_id))).first()


async def activity_counts(conn: AsyncConnection, user_id: UUID, since: datetime, until: datetime) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(case((views.c.contacted == true(), 1), else_=0)), 0)).where(
        views.c.user_id == user_id, views.c.viewed_at >= since, views.c.viewed_at < until)
    total, contacts = (await conn.execute(query)).one()
    return int(total), int(contacts)


async def views_without_contact_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> int:
    last_contact = (select(func.max(views.c.viewed_at))
                    .where(views.c.user_id == user_id, views.c.contacted == true()).scalar_subquery())
    query = select(func.count()).where(
        views.c.user_id == user_id, views.c.viewed_at >= since, views.c.contacted != true(),
        or_(last_contact.is_(None), and_(views.c.viewed_at > last_contact)))
    return int((await conn.execute(query)).scalar_one())


async def activity_windows(conn: AsyncConnection, user_id: UUID, *, until: datetime,
                           since: Sequence[datetime]) -> list[tuple[int, int]]:
    """Views and contacts of one user in each window since[i] < viewed_at <= until, in one statement."""
    columns = []
    for start in since:
        in_window = views.c.viewed_at > start
        columns += [func.coalesce(func.sum(case((in_window, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((and_(in_window, views.c.contacted == true()), 1), else_=0)), 0)]
    query = select(*columns).where(views.c.user_id == user_id, views.c.viewed_at > min(since),
                                   views.c.viewed_at <= until)
    row = (await conn.execute(query)).one()
    return [(int(row[2 * i]), int(row[2 * i + 1])) for i in range(len(since))]
