"""Order use cases: load -> rules -> compare-and-set -> audit. Never commits.

Orders are Billing's facts kept here so that upsells, refunds, commissions and the customer context decide
without waiting on Billing. Writes come from billing.payment.completed / billing.refund.completed /
entitlements.plan.expired (handlers.py) and from PUT /orders/{id} (backfill). Every change bumps the order's
`version` and is written only if the version read is still current, so concurrent writers on PostgreSQL
(which also locks the row) and SQLite (where reads hold no lock) never lose an update.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.catalog.errors import UnknownPlan
from sales.core import audit, hooks
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.orders import repository, rules
from sales.orders.enums import BackfillStatus, OrderStatus, TransactionType
from sales.orders.errors import (OrderAmountBelowRefunds, OrderChangedConcurrently, OrderMismatch, OrderNotFound,
                                 RefundMismatch, UnknownOrder)
from sales.orders.schemas import OrderDetail, OrderFacts, OrderRead, PlanExpired, RefundCompleted, RefundRead

ATTEMPTS = 3


def _read(row: Any) -> OrderRead:
    return OrderRead.model_validate(row._mapping)


def _changes(current: Any, values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if current._mapping[k] != v}


# --- writes --------------------------------------------------------------------------------------

async def record_order(conn: AsyncConnection, principal: Principal, *, order_id: UUID, facts: OrderFacts,
                       now: datetime, status: BackfillStatus | None = None) -> tuple[OrderRead, bool]:
    """Create the order or bring it to these facts (idempotent: the same facts change nothing).
    Returns the order and whether it was created. starts_at = paid_at, ends_at = + the plan's duration."""
    plan = await catalog_service.get_plan_facts(conn, facts.plan_id)
    if plan is None:
        raise UnknownPlan(facts.plan_id)
    if plan.user_type != facts.user_type:
        raise InvalidInput(("user_type",), f"user_type {facts.user_type.value} does not match plan {plan.code} "
                                           f"({plan.user_type.value})")
    starts_at, ends_at = rules.period(facts.paid_at, plan.duration_days)
    facts_values = {"user_id": facts.user_id, "user_type": facts.user_type.value, "plan_id": facts.plan_id,
                    "amount": facts.amount, "currency": facts.currency, "paid_at": facts.paid_at,
                    "starts_at": starts_at, "ends_at": ends_at}
    for _ in range(ATTEMPTS):
        current = await repository.get(conn, order_id, for_update=True)
        if current is None:
            held = await repository.held_orders(conn, user_id=facts.user_id, user_type=facts.user_type.value,
                                                before=facts.paid_at)
            transaction_type = rules.transaction_type(
                plan_id=plan.id, user_type=plan.user_type.value, tier=plan.tier, paid_at=facts.paid_at,
                explicit=facts.transaction_type,
                held=[rules.HeldOrder(h.plan_id, h.user_type, h.tier, OrderStatus(h.status), h.starts_at, h.ends_at)
                      for h in held])
            values = {**facts_values, "order_id": order_id, "payment_id": facts.payment_id,
                      "upsell_id": facts.upsell_id, "rm_id": facts.rm_id, "pipeline_id": facts.pipeline_id,
                      "transaction_type": transaction_type.value, "refunded_amount": 0,
                      "status": rules.status_after_backfill(None, status, amount=facts.amount, refunded=0).value,
                      "version": 1, "created_at": now, "updated_at": now}
            row = await repository.insert_if_absent(conn, values)
            if row is None:
                continue  # a concurrent delivery created it first: bring that one to these facts
            order = _read(row)
            await audit.record(conn, principal, action="order.recorded", entity_type="order", entity_id=order_id,
                               at=now, after=order)
            await hooks.emit("order.recorded", conn, order=order, created=True, previous_status=None, now=now)
            return order, True
        if facts.amount < current.refunded_amount:
            raise OrderAmountBelowRefunds(f"order {order_id} has {current.refunded_amount:f} refunded; its amount "
                                          f"cannot become {facts.amount:f}")
        # Ids left out keep their stored values: a later message never erases who sold the order.
        values = {**facts_values,
                  "payment_id": facts.payment_id or current.payment_id,
                  "upsell_id": facts.upsell_id or current.upsell_id, "rm_id": facts.rm_id or current.rm_id,
                  "pipeline_id": facts.pipeline_id or current.pipeline_id,
                  "transaction_type": (facts.transaction_type or TransactionType(current.transaction_type)).value,
                  "status": rules.status_after_backfill(OrderStatus(current.status), status, amount=facts.amount,
                                                        refunded=current.refunded_amount).value}
        changes = _changes(current, values)
        if not changes:
            return _read(current), False
        row = await repository.update_if_version(conn, order_id, version=current.version,
                                                 values={**changes, "updated_at": now})
        if row is None:
            continue
        order = _read(row)
        await audit.record(conn, principal, action="order.updated", entity_type="order", entity_id=order_id,
                           at=now, before=_read(current), after=order)
        await hooks.emit("order.recorded", conn, order=order, created=False, previous_status=current.status, now=now)
        return order, False
    raise OrderChangedConcurrently(f"order {order_id} kept changing; retry")


async def apply_refund(conn: AsyncConnection, principal: Principal, *, refund: RefundCompleted,
                       now: datetime) -> OrderRead:
    """Add a completed refund to its order once per refund id; the total never exceeds the order amount
    (RefundExceedsAmount, with nothing applied); the status follows (rules.status_after_refund)."""
    for _ in range(ATTEMPTS):
        current = await repository.get(conn, refund.order_id, for_update=True)
        if current is None:
            raise UnknownOrder(refund.order_id)
        known = await repository.get_refund(conn, refund.refund_id)
        if known is not None:
            if known.order_id != refund.order_id or known.amount != refund.amount:
                raise RefundMismatch(f"refund {refund.refund_id} was recorded for order {known.order_id} with "
                                     f"{known.amount:f}")
            return _read(current)  # the same refund again: applied already
        total = rules.refunded_total(amount=current.amount, refunded=current.refunded_amount, refund=refund.amount)
        status = rules.status_after_refund(OrderStatus(current.status), amount=current.amount, refunded=total)
        row = await repository.update_if_version(conn, refund.order_id, version=current.version, values={
            "refunded_amount": total, "status": status.value, "updated_at": now})
        if row is None:
            continue
        if not await repository.insert_refund_if_absent(conn, {
                "refund_id": refund.refund_id, "order_id": refund.order_id, "amount": refund.amount,
                "completed_at": refund.completed_at, "received_at": now}):
            # Recorded concurrently after the check above: undo nothing here, let the event retry (the
            # caller's transaction rolls back, and the retry finds the refund known).
            raise OrderChangedConcurrently(f"refund {refund.refund_id} recorded concurrently; retry")
        order = _read(row)
        await audit.record(conn, principal, action="order.refunded", entity_type="order", entity_id=refund.order_id,
                           at=now, before=_read(current),
                           after={**order.model_dump(), "refund": refund.model_dump()})
        await hooks.emit("order.refunded", conn, order=order, refund=refund, now=now)
        return order
    raise OrderChangedConcurrently(f"order {refund.order_id} kept changing; retry")


async def expire_order(conn: AsyncConnection, principal: Principal, *, expiry: PlanExpired,
                       now: datetime) -> OrderRead:
    """Entitlements expired the plan of this order: a live order becomes EXPIRED; a refunded or cancelled one
    stays as it is (rules.status_after_expiry). The same expiry again changes nothing."""
    for _ in range(ATTEMPTS):
        current = await repository.get(conn, expiry.order_id, for_update=True)
        if current is None:
            raise UnknownOrder(expiry.order_id)
        if current.user_id != expiry.user_id or current.plan_id != expiry.plan_id:
            raise OrderMismatch(f"order {expiry.order_id} belongs to user {current.user_id} with plan "
                                f"{current.plan_id}")
        status = rules.status_after_expiry(OrderStatus(current.status))
        if status == current.status:
            return _read(current)
        row = await repository.update_if_version(conn, expiry.order_id, version=current.version, values={
            "status": status.value, "expired_at": expiry.expired_at, "updated_at": now})
        if row is None:
            continue
        order = _read(row)
        await audit.record(conn, principal, action="order.expired", entity_type="order", entity_id=expiry.order_id,
                           at=now, before=_read(current), after=order)
        return order
    raise OrderChangedConcurrently(f"order {expiry.order_id} kept changing; retry")


# --- reads ---------------------------------------------------------------------------------------

async def get_order(conn: AsyncConnection, principal: Principal, *, order_id: UUID) -> OrderDetail:
    """One order with its refunds; out of the caller's scope is 404."""
    row = await repository.get(conn, order_id, scope=repository.readable(principal))
    if row is None:
        raise OrderNotFound(f"order {order_id} not found")
    refunds = (await refunds_of_orders(conn, [order_id])).get(order_id, [])
    return OrderDetail(**_read(row).model_dump(), refunds=refunds)


async def list_orders(conn: AsyncConnection, principal: Principal, *, user_id: UUID | None,
                      status: OrderStatus | None, limit: int, cursor: list[Any] | None) -> list[OrderRead]:
    rows = await repository.list_(conn, scope=repository.readable(principal), user_id=user_id,
                                  status=status.value if status else None, limit=limit, after=_after(cursor))
    return [_read(r) for r in rows]


def _after(cursor: list[Any] | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        paid_at, order_id = cursor
        at = datetime.fromisoformat(str(paid_at))
        if at.tzinfo is None:
            raise ValueError
        return at, UUID(str(order_id))
    except (ValueError, TypeError, OverflowError):
        raise InvalidInput.query(("cursor",), "malformed cursor") from None


def cursor_of(order: OrderRead) -> tuple[str, UUID]:
    return order.paid_at.isoformat(), order.order_id


# --- for other domains (customer context, upsells, refunds, commissions) -----------------------------

async def active_orders_for(conn: AsyncConnection, user_id: UUID, now: datetime) -> list[OrderRead]:
    """The user's live orders at `now` (ACTIVE or PARTIALLY_REFUNDED, starts_at <= now < ends_at)."""
    return [_read(r) for r in await repository.live_orders(conn, user_id=user_id, now=now)]


async def orders_of_user(conn: AsyncConnection, user_id: UUID, *, limit: int = 50) -> list[OrderRead]:
    """The user's orders, newest payment first."""
    return [_read(r) for r in await repository.of_user(conn, user_id=user_id, limit=limit)]


async def refunds_of_orders(conn: AsyncConnection, order_ids: list[UUID]) -> dict[UUID, list[RefundRead]]:
    """Refunds received per order, oldest first."""
    out: dict[UUID, list[RefundRead]] = defaultdict(list)
    for row in await repository.refunds_of(conn, order_ids):
        out[row.order_id].append(RefundRead.model_validate(row._mapping))
    return dict(out)


async def get_order_facts(conn: AsyncConnection, order_id: UUID) -> OrderRead | None:
    """The order, unscoped (internal use); None when unknown."""
    row = await repository.get(conn, order_id)
    return _read(row) if row is not None else None


async def order_exists(conn: AsyncConnection, order_id: UUID) -> bool:
    return await repository.exists(conn, order_id)
