"""The only place plan SQL lives."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog.models import plans
from sales.catalog.permissions import STAFF
from sales.core.auth import Principal
from sales.core.db import dialect_insert


def readable(principal: Principal) -> ColumnElement[bool]:
    """Staff read the whole catalogue; anyone else (a CUSTOMER) only the plans on sale."""
    return true() if principal.has(*STAFF) else plans.c.active.is_(True)


_GET = select(plans).where(plans.c.id == bindparam("plan_id", type_=plans.c.id.type))


async def get(conn: AsyncConnection, plan_id: UUID, *, scope: ColumnElement[bool] | None = None) -> Any:
    """The plan, within `scope` when given (without one: a statement built once)."""
    query = _GET if scope is None else _GET.where(scope)
    return (await conn.execute(query, {"plan_id": plan_id})).first()


async def get_many(conn: AsyncConnection, plan_ids: set[UUID]) -> list[Any]:
    if not plan_ids:
        return []
    return list((await conn.execute(select(plans).where(plans.c.id.in_(plan_ids)))).all())


async def id_with_code(conn: AsyncConnection, code: str) -> UUID | None:
    return (await conn.execute(select(plans.c.id).where(plans.c.code == code))).scalar()


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], user_type: str | None, active: bool | None,
                limit: int, after: tuple[str, int, str] | None) -> list[Any]:
    """By user type, tier, code; keyset-paginated on those three (code is unique)."""
    query = select(plans).where(scope)
    if user_type is not None:
        query = query.where(plans.c.user_type == user_type)
    if active is not None:
        query = query.where(plans.c.active.is_(active))
    if after is not None:
        kind, tier, code = after
        query = query.where(or_(plans.c.user_type > kind,
                                and_(plans.c.user_type == kind, plans.c.tier > tier),
                                and_(plans.c.user_type == kind, plans.c.tier == tier, plans.c.code > code)))
    query = query.order_by(plans.c.user_type, plans.c.tier, plans.c.code).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def insert_if_absent(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert the plan; None when its id or code already exists (either database, concurrent inserts too)."""
    insert = dialect_insert(conn, plans)
    return (await conn.execute(insert.values(**values).on_conflict_do_nothing().returning(plans))).first()


async def update_unless_code_taken(conn: AsyncConnection, plan_id: UUID, values: dict[str, Any]) -> Any:
    """Update the plan; None when the new code belongs to another plan (the unique index decides)."""
    try:
        async with conn.begin_nested():
            return (await conn.execute(update(plans).where(plans.c.id == plan_id).values(**values)
                                       .returning(plans))).first()
    except IntegrityError:
        return None
