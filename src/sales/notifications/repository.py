"""The only place notification SQL lives."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert
from sales.notifications.models import notifications


async def insert_if_new(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Store the decision unless its dedupe key is already taken; True when this call stored it."""
    insert = dialect_insert(conn, notifications)
    result = await conn.execute(insert.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
                                .returning(notifications.c.id))
    return result.first() is not None


async def by_dedupe_key(conn: AsyncConnection, dedupe_key: str) -> Any:
    return (await conn.execute(select(notifications).where(notifications.c.dedupe_key == dedupe_key))).first()


async def sent_to(conn: AsyncConnection, recipient_id: Any, *, limit: int) -> list[Any]:
    """The messages asked for one recipient (sent or suppressed), newest first."""
    query = (select(notifications).where(notifications.c.recipient_id == recipient_id)
             .order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit))
    return list((await conn.execute(query)).all())
