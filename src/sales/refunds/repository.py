"""The only place refund SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, false, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role
from sales.core.db import dialect_insert
from sales.orders.models import order_refunds, orders
from sales.refunds.models import OPEN, refunds
from sales.refunds.permissions import REFUNDS_ORG_WIDE


def readable(principal: Principal) -> ColumnElement[bool]:
    """Orders whose refunds the caller may see: every order for refund staff, a CUSTOMER's own (user_id = sub)."""
    if principal.has(*REFUNDS_ORG_WIDE):
        return true()
    if principal.has(Role.CUSTOMER):
        return orders.c.user_id == principal.sub
    return false()


def requestable(principal: Principal) -> ColumnElement[bool]:
    """Orders the caller may request a refund of: any for a SUPPORT_AGENT, a CUSTOMER's own."""
    if principal.has(Role.SUPPORT_AGENT):
        return true()
    if principal.has(Role.CUSTOMER):
        return orders.c.user_id == principal.sub
    return false()


async def insert_unless_open(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert the request; None when the order already has an open one (one statement on the partial unique
    index, so concurrent requests on one order leave exactly one open on both databases)."""
    statement = (dialect_insert(conn, refunds).values(**values)
                 .on_conflict_do_nothing(index_elements=[refunds.c.order_id], index_where=text(OPEN)))
    return (await conn.execute(statement.returning(refunds))).first()


async def earlier_refunds(conn: AsyncConnection, *, user_id: UUID, since: datetime) -> list[tuple[Any, datetime]]:
    """The user's refunds since `since` (RFR-005): requests not rejected or failed, and refunds Billing completed
    without a request here (each refund once: a completed request is not counted twice)."""
    requested = select(refunds.c.id, refunds.c.requested_at).where(
        refunds.c.user_id == user_id, refunds.c.requested_at >= since,
        refunds.c.status.not_in(("REJECTED", "FAILED")))
    completed = (select(order_refunds.c.refund_id, order_refunds.c.completed_at)
                 .select_from(order_refunds.join(orders, orders.c.order_id == order_refunds.c.order_id))
                 .where(orders.c.user_id == user_id, order_refunds.c.completed_at >= since,
                        order_refunds.c.refund_id.not_in(select(refunds.c.id))))
    rows = [*(await conn.execute(requested)).all(), *(await conn.execute(completed)).all()]
    return [(r[0], r[1]) for r in rows]
