"""The only place plan-usage SQL lives."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.usage.models import plan_usage as u


async def upsert_if_newer(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Store the measurement unless one at least as recent is stored: one statement, so concurrent and
    out-of-order deliveries keep the newest on both databases. True when it was stored."""
    insert = dialect_insert(conn, u).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[u.c.user_id, u.c.plan_id, u.c.quota_name],
        set_={name: insert.excluded[name] for name in ("order_id", "quota", "used", "at", "updated_at")},
        where=insert.excluded.at > u.c.at)
    return bool((await conn.execute(statement)).rowcount)


async def of_user(conn: AsyncConnection, user_id: UUID) -> list[Any]:
    query = (select(u.c.plan_id, u.c.order_id, u.c.quota_name, u.c.quota, u.c.used, u.c.at)
             .where(u.c.user_id == user_id).order_by(u.c.plan_id, u.c.quota_name))
    return list((await conn.execute(query)).all())
