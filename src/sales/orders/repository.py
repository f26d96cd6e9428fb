"""The only place order SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog.models import plans
from sales.core.auth import Principal, Role
from sales.core.db import dialect_insert
from sales.directory.scoping import owned_or_supervised
from sales.orders.models import order_refunds, orders
from sales.orders.permissions import ORDERS_ORG_WIDE

LIVE = ("ACTIVE", "PARTIALLY_REFUNDED")


def readable(principal: Principal) -> ColumnElement[bool]:
    """Org-wide order readers see every order; an RM the orders they sold (rm_id), a SUPERVISOR those their
    teams' RMs sold; a CUSTOMER their own (user_id = sub). Anyone else nothing."""
    if principal.has(*ORDERS_ORG_WIDE):
        return true()
    allowed: list[ColumnElement[bool]] = []
    if principal.has(Role.RM, Role.SUPERVISOR):
        # Only the RM/SUPERVISOR roles count here: another org-wide role (PRODUCT_MANAGER) widens nothing.
        seller = Principal(sub=principal.sub, roles=principal.roles & {Role.RM, Role.SUPERVISOR},
                           team_ids=principal.team_ids)
        allowed.append(and_(orders.c.rm_id.is_not(None), owned_or_supervised(seller, owner=orders.c.rm_id)))
    if principal.has(Role.CUSTOMER):
        allowed.append(orders.c.user_id == principal.sub)
    return or_(*allowed) if allowed else false()


async def get(conn: AsyncConnection, order_id: UUID, *, scope: ColumnElement[bool] = true(),
              for_update: bool = False) -> Any:
    query = select(orders).where(orders.c.order_id == order_id, scope)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def exists(conn: AsyncConnection, order_id: UUID) -> bool:
    return (await conn.execute(select(orders.c.order_id).where(orders.c.order_id == order_id))).first() is not None


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], user_id: UUID | None, status: str | None,
                limit: int, after: tuple[datetime, UUID] | None) -> list[Any]:
    """Newest payment first, keyset-paginated on (paid_at, order_id)."""
    query = select(orders).where(scope)
    if user_id is not None:
        query = query.where(orders.c.user_id == user_id)
    if status is not None:
        query = query.where(orders.c.status == status)
    if after is not None:
        query = query.where(or_(orders.c.paid_at < after[0],
                                and_(orders.c.paid_at == after[0], orders.c.order_id < after[1])))
    query = query.order_by(orders.c.paid_at.desc(), orders.c.order_id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def held_orders(conn: AsyncConnection, *, user_id: UUID, user_type: str, before: datetime) -> list[Any]:
    """The user's orders of this user type paid up to `before`, with their plan's tier."""
    query = (select(orders.c.plan_id, orders.c.user_type, plans.c.tier, orders.c.status, orders.c.starts_at,
                    orders.c.ends_at)
             .select_from(orders.join(plans, plans.c.id == orders.c.plan_id))
             .where(orders.c.user_id == user_id, orders.c.user_type == user_type, orders.c.starts_at <= before))
    return list((await conn.execute(query)).all())


_NOW = bindparam("now", type_=orders.c.starts_at.type)
_LIVE_ORDERS = (select(orders).where(orders.c.user_id == bindparam("user_id", type_=orders.c.user_id.type),
                                     orders.c.status.in_(LIVE), orders.c.starts_at <= _NOW, orders.c.ends_at > _NOW)
                .order_by(orders.c.user_type, orders.c.paid_at, orders.c.order_id))  # built once (issue 19)


async def live_orders(conn: AsyncConnection, *, user_id: UUID, now: datetime) -> list[Any]:
    return list((await conn.execute(_LIVE_ORDERS, {"user_id": user_id, "now": now})).all())


async def of_user(conn: AsyncConnection, *, user_id: UUID, limit: int) -> list[Any]:
    query = (select(orders).where(orders.c.user_id == user_id)
             .order_by(orders.c.paid_at.desc(), orders.c.order_id.desc()).limit(limit))
    return list((await conn.execute(query)).all())


async def insert_if_absent(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert the order; None when the order id exists already (a concurrent delivery got there first)."""
    statement = dialect_insert(conn, orders).values(**values).on_conflict_do_nothing(index_elements=["order_id"])
    return (await conn.execute(statement.returning(orders))).first()


async def update_if_version(conn: AsyncConnection, order_id: UUID, *, version: int, values: dict[str, Any]) -> Any:
    """Compare-and-set: apply `values` only if the order is still at `version`; None when it moved on."""
    statement = (update(orders).where(orders.c.order_id == order_id, orders.c.version == version)
                 .values(**values, version=version + 1).returning(orders))
    return (await conn.execute(statement)).first()


# --- refunds -------------------------------------------------------------------------------------

async def insert_refund_if_absent(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    statement = dialect_insert(conn, order_refunds).values(**values).on_conflict_do_nothing(index_elements=["refund_id"])
    return bool((await conn.execute(statement)).rowcount)


async def get_refund(conn: AsyncConnection, refund_id: UUID) -> Any:
    return (await conn.execute(select(order_refunds).where(order_refunds.c.refund_id == refund_id))).first()


async def refunds_of(conn: AsyncConnection, order_ids: list[UUID]) -> list[Any]:
    if not order_ids:
        return []
    query = (select(order_refunds.c.refund_id, order_refunds.c.order_id, order_refunds.c.amount,
                    order_refunds.c.completed_at)
             .where(order_refunds.c.order_id.in_(order_ids))
             .order_by(order_refunds.c.completed_at, order_refunds.c.refund_id))
    return list((await conn.execute(query)).all())
