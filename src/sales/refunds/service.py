"""Refund use cases (issue 12; PRD §6.4). Never commits."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.core.auth import Principal
from sales.orders import repository as orders_repository
from sales.orders.errors import OrderNotFound
from sales.refunds import repository, rules
from sales.refunds.schemas import EligibilityRead, RuleRead
from sales.usage import service as usage_service


async def eligibility(conn: AsyncConnection, principal: Principal, *, order_id: UUID,
                      now: datetime) -> EligibilityRead:
    """GET /refunds/eligibility/{order_id}: whether a REFUND of this order requested now is possible, how much,
    who approves it, and why (each rule with its figures). Out of the caller's scope is 404."""
    order = await orders_repository.get(conn, order_id, scope=repository.readable(principal))
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    plan = await catalog_service.get_plan_facts(conn, order.plan_id)
    if plan is None:  # the orders table refers to plans: cannot happen short of a broken database
        raise OrderNotFound(f"order {order_id} not found")
    used = rules.used_by_quota(await usage_service.usage_for(conn, order.user_id), plan_id=order.plan_id,
                               order_id=order.order_id)
    answer = rules.evaluate(paid_at=order.paid_at, ends_at=order.ends_at, amount=order.amount,
                            refunded=order.refunded_amount, duration_days=plan.duration_days,
                            features=plan.features, used=used, at=now)
    return EligibilityRead(order_id=order.order_id, type="REFUND", eligible=answer.eligible,
                           refundable_amount=answer.refundable_amount, currency=order.currency,
                           approval=answer.approval,  # type: ignore[arg-type]
                           rules=[RuleRead(**asdict(r)) for r in answer.rules], evaluated_at=now,
                           expected_resolution_by=answer.expected_resolution_by)
