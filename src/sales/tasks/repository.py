"""The only place task SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal
from sales.core.db import dialect_insert
from sales.directory.scoping import owned_or_supervised
from sales.pipelines.models import sales_pipelines as p
from sales.tasks.models import tasks


def readable(principal: Principal) -> ColumnElement[bool]:
    return owned_or_supervised(principal, owner=tasks.c.rm_id)


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert a task; an automatic one (with `source_key`) only once per cause: False when it existed."""
    statement = dialect_insert(conn, tasks).values(**values)
    if values.get("source_key") is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[tasks.c.source_key],
                                                     index_where=text("source_key IS NOT NULL"))
    return (await conn.execute(statement.returning(tasks.c.id))).first() is not None


async def get(conn: AsyncConnection, task_id: UUID, *, scope: ColumnElement[bool] = true()) -> Any:
    return (await conn.execute(select(tasks).where(tasks.c.id == task_id, scope))).first()


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], now: datetime,
                limit: int, after: tuple[datetime, UUID] | None) -> list[Any]:
    """Soonest due first, keyset-paginated on (due_at, id)."""
    query = select(tasks).where(scope)
    for column in ("rm_id", "pipeline_id", "status"):
        if filters.get(column) is not None:
            query = query.where(tasks.c[column] == filters[column])
    if filters.get("due_from") is not None:
        query = query.where(tasks.c.due_at >= filters["due_from"])
    if filters.get("due_to") is not None:
        query = query.where(tasks.c.due_at <= filters["due_to"])
    overdue = and_(tasks.c.status == "OPEN", tasks.c.due_at < now)
    if filters.get("overdue") is True:
        query = query.where(overdue)
    elif filters.get("overdue") is False:
        query = query.where(~overdue)
    if after:
        query = query.where(or_(tasks.c.due_at > after[0], and_(tasks.c.due_at == after[0], tasks.c.id > after[1])))
    return list((await conn.execute(query.order_by(tasks.c.due_at, tasks.c.id).limit(limit + 1))).all())


async def close(conn: AsyncConnection, task_id: UUID, values: dict[str, Any]) -> bool:
    """OPEN -> DONE / CANCELLED (a conditional update: of two concurrent closes one wins)."""
    result = await conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == "OPEN").values(**values))
    return result.rowcount == 1


async def stale_pipelines(conn: AsyncConnection, *, changed_before: datetime, limit: int = 500) -> list[Any]:
    """Open pipelines whose stage has not changed since `changed_before` and got no stage-age task since."""
    reminded = select(tasks.c.id).where(tasks.c.pipeline_id == p.c.id, tasks.c.source == "STAGE_AGE",
                                        tasks.c.created_at >= p.c.stage_changed_at)
    query = (select(p.c.id, p.c.rm_id, p.c.stage, p.c.stage_changed_at)
             .where(p.c.outcome == "PENDING", p.c.stage_changed_at <= changed_before, ~reminded.exists())
             .order_by(p.c.stage_changed_at, p.c.id).limit(limit))
    return list((await conn.execute(query)).all())
