"""The only place refund SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, delete, false, func, literal, or_, select, text, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role
from sales.core.db import dialect_insert
from sales.orders.models import order_refunds, orders
from sales.refunds.models import OPEN, plan_guarantees, refund_events, refund_evidence, refunds
from sales.refunds.permissions import REFUNDS_ORG_WIDE


def readable(principal: Principal) -> ColumnElement[bool]:
    """Orders whose refunds the caller may see: every order for refund staff, a CUSTOMER's own (user_id = sub)."""
    if principal.has(*REFUNDS_ORG_WIDE):
        return true()
    if principal.has(Role.CUSTOMER):
        return orders.c.user_id == principal.sub
    return false()


def readable_refunds(principal: Principal) -> ColumnElement[bool]:
    """Refunds the caller may see: all for refund staff, a CUSTOMER's own."""
    if principal.has(*REFUNDS_ORG_WIDE):
        return true()
    if principal.has(Role.CUSTOMER):
        return refunds.c.user_id == principal.sub
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


async def get(conn: AsyncConnection, refund_id: UUID, *, scope: ColumnElement[bool] = true()) -> Any:
    return (await conn.execute(select(refunds).where(refunds.c.id == refund_id, scope))).first()


async def move(conn: AsyncConnection, refund_id: UUID, *, from_: str, version: int, values: dict[str, Any]) -> Any:
    """Compare-and-set: apply `values` only while the refund is still in status `from_` at `version` (so of two
    concurrent decisions one wins); None otherwise, or when the move would open a second request on the order
    (the partial unique index decides, in a savepoint)."""
    statement = (update(refunds).where(refunds.c.id == refund_id, refunds.c.status == from_,
                                       refunds.c.version == version)
                 .values(**values, version=version + 1).returning(refunds))
    try:
        async with conn.begin_nested():
            return (await conn.execute(statement)).first()
    except IntegrityError:
        return None


async def other_open(conn: AsyncConnection, *, order_id: UUID, refund_id: UUID) -> bool:
    """Whether another request on the order holds it (open)."""
    query = select(refunds.c.id).where(refunds.c.order_id == order_id, refunds.c.id != refund_id, text(OPEN))
    return (await conn.execute(query.limit(1))).first() is not None


async def add_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(refund_events.insert(), rows)


async def timeline(conn: AsyncConnection, refund_id: UUID) -> list[Any]:
    query = select(refund_events).where(refund_events.c.refund_id == refund_id).order_by(refund_events.c.seq)
    return list((await conn.execute(query)).all())


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                after: tuple[datetime, UUID] | None, now: datetime) -> list[Any]:
    """Newest first, keyset-paginated on (requested_at, id). `breached`: the SLA test of rules.sla_breached."""
    query = select(refunds).where(scope)
    for name in ("status", "user_id", "order_id", "type", "flagged"):
        if filters.get(name) is not None:
            query = query.where(refunds.c[name] == filters[name])
    if filters.get("from") is not None:
        query = query.where(refunds.c.requested_at >= filters["from"])
    if filters.get("to") is not None:
        query = query.where(refunds.c.requested_at < filters["to"])
    if filters.get("breached") is not None:
        late = (func.coalesce(refunds.c.resolved_at, literal(now, refunds.c.resolved_at.type))
                > refunds.c.expected_resolution_by)
        query = query.where(late if filters["breached"] else ~late)
    if after is not None:
        query = query.where(or_(refunds.c.requested_at < after[0],
                                and_(refunds.c.requested_at == after[0], refunds.c.id < after[1])))
    query = query.order_by(refunds.c.requested_at.desc(), refunds.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def guarantee_of(conn: AsyncConnection, plan_id: UUID) -> Any:
    return (await conn.execute(select(plan_guarantees).where(plan_guarantees.c.plan_id == plan_id))).first()


async def guarantees(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(select(plan_guarantees).order_by(plan_guarantees.c.plan_id))).all())


async def replace_guarantees(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """The whole set: plans left out lose their guarantee; a plan kept keeps its created_at."""
    kept = {r.plan_id: r.created_at for r in await guarantees(conn)}
    await conn.execute(delete(plan_guarantees))
    if rows:
        await conn.execute(plan_guarantees.insert(),
                           [{**row, "created_at": kept.get(row["plan_id"], row["created_at"])} for row in rows])


async def add_evidence(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return (await conn.execute(refund_evidence.insert().values(**values).returning(refund_evidence))).one()


async def evidence_of(conn: AsyncConnection, refund_id: UUID) -> list[Any]:
    query = (select(refund_evidence).where(refund_evidence.c.refund_id == refund_id)
             .order_by(refund_evidence.c.seq))
    return list((await conn.execute(query)).all())


async def evidence_keys(conn: AsyncConnection, keys: list[str]) -> set[str]:
    """Which evidence files (`<refund id>/<sha256>`) an evidence row names."""
    wanted: dict[tuple[UUID, str], str] = {}
    for key in keys:
        refund_id, _, digest = key.partition("/")
        try:
            wanted[(UUID(refund_id), digest)] = key
        except ValueError:
            continue
    if not wanted:
        return set()
    query = select(refund_evidence.c.refund_id, refund_evidence.c.sha256).where(
        refund_evidence.c.refund_id.in_({r for r, _ in wanted}), refund_evidence.c.sha256.in_({d for _, d in wanted}))
    found = {(row.refund_id, row.sha256) for row in await conn.execute(query)}
    return {key for pair, key in wanted.items() if pair in found}
