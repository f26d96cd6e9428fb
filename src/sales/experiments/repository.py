"""The only place experiment SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.experiments.models import upsell_experiments as experiments


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return (await conn.execute(experiments.insert().values(**values).returning(experiments))).one()


async def get(conn: AsyncConnection, experiment_id: UUID) -> Any:
    return (await conn.execute(select(experiments).where(experiments.c.id == experiment_id))).first()


async def list_(conn: AsyncConnection, *, status: str | None, trigger: str | None, limit: int,
                after: tuple[datetime, UUID] | None) -> list[Any]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(experiments)
    if status is not None:
        query = query.where(experiments.c.status == status)
    if trigger is not None:
        query = query.where(experiments.c.trigger == trigger)
    if after is not None:
        query = query.where(or_(experiments.c.created_at < after[0],
                                and_(experiments.c.created_at == after[0], experiments.c.id < after[1])))
    query = query.order_by(experiments.c.created_at.desc(), experiments.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def change(conn: AsyncConnection, experiment_id: UUID, *, version: int, values: dict[str, Any],
                 where: Any = None) -> tuple[Any, bool]:
    """Compare-and-set on `version` (and `where`): (the updated row or None when someone changed it first, whether
    the active-trigger unique index refused it: another experiment already drives the trigger)."""
    statement = (update(experiments).where(experiments.c.id == experiment_id, experiments.c.version == version,
                                           *([where] if where is not None else []))
                 .values(**values, version=version + 1).returning(experiments))
    try:
        async with conn.begin_nested():
            return (await conn.execute(statement)).first(), False
    except IntegrityError:
        return None, True


_DRIVING = or_(experiments.c.status == "RUNNING", experiments.c.rollout_status == "ROLLING_OUT")
# One statement, built once (issue 19: every upsell decision asks): a running (or rolling out) experiment before the
# latest completed rollout.
_ACTIVE_FOR_TRIGGER = (select(experiments)
                       .where(experiments.c.trigger == bindparam("trigger", type_=experiments.c.trigger.type),
                              or_(_DRIVING, experiments.c.rollout_status == "COMPLETED"))
                       .order_by(case((_DRIVING, 0), else_=1), experiments.c.ended_at.desc(),
                                 experiments.c.id.desc())
                       .limit(1))


async def active_for_trigger(conn: AsyncConnection, trigger: str) -> Any:
    """The experiment driving `trigger` now: RUNNING, or its winner rolling out or rolled out (latest)."""
    return (await conn.execute(_ACTIVE_FOR_TRIGGER, {"trigger": trigger})).first()


async def rolling_out(conn: AsyncConnection) -> list[Any]:
    query = (select(experiments).where(experiments.c.rollout_status == "ROLLING_OUT")
             .order_by(experiments.c.rollout_stage_started_at, experiments.c.id))
    return list((await conn.execute(query)).all())
