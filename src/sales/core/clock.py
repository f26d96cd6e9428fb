"""The one business clock. Outside production SALES_ADMIN may freeze and move it (like a test clock).

The frozen instant lives in the database so every API replica and worker agrees on business time.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import insert_unless_exists
from sales.core.tables import clock_state


def wall_now() -> datetime:
    """Real UTC time: for JWT exp/iat and for measuring, never for business decisions."""
    return datetime.now(UTC)


async def business_now(conn: AsyncConnection, *, frozen_allowed: bool) -> datetime:
    if not frozen_allowed:
        return wall_now()
    frozen = (await conn.execute(_FROZEN_AT)).scalar()
    return frozen or wall_now()


_FROZEN_AT = select(clock_state.c.frozen_at).where(clock_state.c.id == 1)  # built once: asked on every request


async def _locked_frozen_at(conn: AsyncConnection) -> datetime | None:
    """The clock's one row, created if missing (a concurrent creator is no error) and locked until commit."""
    await conn.execute(insert_unless_exists(conn, clock_state, clock_state.c.id).values(id=1, frozen_at=None))
    return (await conn.execute(select(clock_state.c.frozen_at).where(clock_state.c.id == 1)
                               .with_for_update())).scalar()


async def set_frozen(conn: AsyncConnection, at: datetime) -> datetime:
    await _locked_frozen_at(conn)
    return await _freeze(conn, at)


async def advance(conn: AsyncConnection, by: timedelta,
                  check: Callable[[datetime], datetime] = lambda at: at) -> datetime:
    """Freeze the clock `by` later than it reads now (`check` may refuse the result with ValueError); concurrent
    advances add up."""
    return await _freeze(conn, check((await _locked_frozen_at(conn) or wall_now()) + by))


async def _freeze(conn: AsyncConnection, at: datetime) -> datetime:
    await conn.execute(update(clock_state).where(clock_state.c.id == 1).values(frozen_at=at))
    return at
