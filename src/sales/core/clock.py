"""The one business clock. Outside production SALES_ADMIN may freeze and move it (like a test clock).

The frozen instant lives in the database so every API replica and worker agrees on business time.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.tables import clock_state


def wall_now() -> datetime:
    """Real UTC time: for JWT exp/iat and for measuring, never for business decisions."""
    return datetime.now(UTC)


async def business_now(conn: AsyncConnection, *, frozen_allowed: bool) -> datetime:
    if not frozen_allowed:
        return wall_now()
    frozen = (await conn.execute(select(clock_state.c.frozen_at).where(clock_state.c.id == 1))).scalar()
    return frozen or wall_now()


async def set_frozen(conn: AsyncConnection, at: datetime) -> datetime:
    result = await conn.execute(update(clock_state).where(clock_state.c.id == 1).values(frozen_at=at))
    if result.rowcount == 0:
        await conn.execute(clock_state.insert().values(id=1, frozen_at=at))
    return at
