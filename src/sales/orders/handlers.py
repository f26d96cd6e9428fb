"""Consumed Billing and Entitlements events that keep the orders read model (issue 10 §2 Orders).

Bad data is parked at once (schema errors, an order that contradicts the event, a refund total above the
order amount); an order or plan not known yet is a normal failure, retried then parked, because its own
event may still be on its way."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, Unprocessable, handles
from sales.orders import service
from sales.orders.errors import (OrderAmountBelowRefunds, OrderMismatch, OrderRefunded, RefundExceedsAmount,
                                 RefundMismatch)
from sales.orders.schemas import PaymentCompleted, PlanExpired, RefundCompleted

_NEVER_APPLICABLE = (RefundExceedsAmount, RefundMismatch, OrderMismatch, OrderAmountBelowRefunds, OrderRefunded)


@handles("billing.payment.completed")
async def payment_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 10 §2: a completed payment opens (or confirms) its order."""
    data = PaymentCompleted.model_validate(object_data(event))
    try:
        await service.record_order(conn, event.principal, order_id=data.order_id, facts=data, now=event.now)
    except _NEVER_APPLICABLE as exc:
        raise Unprocessable(exc.detail) from exc


@handles("billing.refund.completed")
async def refund_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 10 §2: a completed refund adds to the order's refunded amount, once per refund id."""
    data = RefundCompleted.model_validate(object_data(event))
    try:
        await service.apply_refund(conn, event.principal, refund=data, now=event.now)
    except _NEVER_APPLICABLE as exc:
        raise Unprocessable(exc.detail) from exc


@handles("entitlements.plan.expired")
async def plan_expired(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 10 §2: the order whose plan expired becomes EXPIRED (never a refunded one)."""
    data = PlanExpired.model_validate(object_data(event))
    try:
        await service.expire_order(conn, event.principal, expiry=data, now=event.now)
    except _NEVER_APPLICABLE as exc:
        raise Unprocessable(exc.detail) from exc
