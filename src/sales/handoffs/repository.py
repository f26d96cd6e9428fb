"""The only place handoff SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.handoffs.models import handoff_users, handoffs
from sales.inventory.models import listings


async def lock_user(conn: AsyncConnection, user_id: UUID, *, now: datetime) -> None:
    statement = dialect_insert(conn, handoff_users).values(user_id=user_id, touched_at=now)
    await conn.execute(statement.on_conflict_do_update(index_elements=[handoff_users.c.user_id],
                                                       set_={"touched_at": statement.excluded.touched_at}))


async def insert_handoff(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(handoffs).values(**values))


async def get(conn: AsyncConnection, handoff_id: UUID) -> Any:
    return (await conn.execute(select(handoffs).where(handoffs.c.id == handoff_id))).first()


async def listing_places(conn: AsyncConnection, ids: list[UUID]) -> list[Any]:
    """City and locality of the listings, in the order of `ids` (unknown ones left out)."""
    rows = {r.id: r for r in await conn.execute(
        select(listings.c.id, listings.c.city, listings.c.locality).where(listings.c.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows]
