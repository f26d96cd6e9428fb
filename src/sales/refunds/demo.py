"""Demo refunds (issue 12): Prime's guarantee, a claim under investigation, a refund waiting for a
SUPPORT_AGENT and one the rules rejected (a policy-exception candidate), on the commerce demo's orders."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog.demo import TENANT_PREMIUM, TENANT_PRIME
from sales.core.auth import Principal, Role
from sales.orders import service as orders_service
from sales.orders.demo import DEMO_CUSTOMERS
from sales.refunds import service
from sales.refunds.enums import RefundType
from sales.refunds.schemas import GuaranteeCondition, GuaranteesWrite, GuaranteeWrite, RefundCreate


async def seed(conn: AsyncConnection, admin: Principal, *, now: datetime) -> None:
    await service.put_guarantees(conn, admin, now=now - timedelta(days=30), data=GuaranteesWrite(items=[
        GuaranteeWrite(plan_id=TENANT_PRIME, description="Full refund if fewer than 3 owners respond within 10 days",
                       window_days=10, condition=GuaranteeCondition(metric="owner_responses", lt=3, within_days=10),
                       refund_percentage=100, evidence_required=["contact_log"])]))
    c1, _, c3, _, _, _, c7 = DEMO_CUSTOMERS
    requests = [(c3, TENANT_PRIME, RefundType.GUARANTEE_CLAIM, "Only one owner answered in 10 days"),
                (c7, TENANT_PREMIUM, RefundType.REFUND, "Moved city, no longer need the plan"),
                (c1, TENANT_PREMIUM, RefundType.REFUND, "Did not find a flat")]
    for customer, plan_id, type_, reason in requests:
        order = next(o for o in await orders_service.orders_of_user(conn, customer) if o.plan_id == plan_id)
        await service.request_refund(conn, Principal(sub=customer, roles=frozenset({Role.CUSTOMER})),
                                     now=now - timedelta(days=1),
                                     data=RefundCreate(order_id=order.order_id, type=type_, reason=reason))
