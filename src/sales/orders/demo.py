"""Demo commerce data: the plan catalogue, a few customers' orders (new, upgrade, renewal, RM-sold, partly
refunded, expired) and their quota usage. Customers have fixed ids so other demo data can refer to them."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import demo as catalog_demo
from sales.catalog.demo import (BUYER_ASSIST, OWNER_LISTING_BOOST, OWNER_PREMIUM_VISIBILITY, TENANT_BASIC,
                                TENANT_PREMIUM, TENANT_PRIME)
from sales.core.auth import Principal
from sales.orders import service
from sales.orders.schemas import OrderRead, OrderUpsert, PlanExpired, RefundCompleted
from sales.usage import service as usage_service
from sales.usage.schemas import UsageMeasurement


def _id(kind: str, n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-0000000{kind}{n:04d}")


DEMO_CUSTOMERS = [_id("c", n) for n in range(1, 8)]


async def seed_commerce(conn: AsyncConnection, principal: Principal, *, now: datetime,
                        rm_ids: Sequence[uuid.UUID] = ()) -> None:
    """Plans, then orders and usage as Billing and Entitlements would have reported them up to `now`."""
    plans = await catalog_demo.seed_plans(conn, principal, now=now - timedelta(days=200))
    seller = rm_ids[0] if rm_ids else None
    n = 0

    async def order(customer: uuid.UUID, plan_id: uuid.UUID, days_ago: int, *,
                    rm_id: uuid.UUID | None = None) -> OrderRead:
        nonlocal n
        n += 1
        plan = plans[plan_id]
        paid_at = now - timedelta(days=days_ago, hours=n)
        order_id = _id("d", n)
        facts = OrderUpsert(payment_id=_id("e", n), user_id=customer, user_type=plan.user_type, plan_id=plan_id,
                            amount=plan.price, currency="INR", paid_at=paid_at, rm_id=rm_id)
        created, _ = await service.record_order(conn, principal, order_id=order_id, facts=facts, now=paid_at)
        return created

    async def usage(customer: uuid.UUID, plan_id: uuid.UUID, quota_name: str, used: int,
                    order_id: uuid.UUID | None = None) -> None:
        quota = plans[plan_id].features[quota_name]
        assert isinstance(quota, int)
        await usage_service.record_usage(conn, user_id=customer, now=now, measurement=UsageMeasurement(
            plan_id=plan_id, order_id=order_id, quota_name=quota_name, quota=quota, used=used,
            at=now - timedelta(hours=1)))

    async def expire(o: OrderRead) -> None:
        await service.expire_order(conn, principal, now=o.ends_at, expiry=PlanExpired(
            user_id=o.user_id, plan_id=o.plan_id, order_id=o.order_id, expired_at=o.ends_at))

    c1, c2, c3, c4, c5, c6, c7 = DEMO_CUSTOMERS
    # A tenant 84% through Premium's contacts (UPR-002 upsell territory).
    premium = await order(c1, TENANT_PREMIUM, 10)
    await usage(c1, TENANT_PREMIUM, "owner_contacts", 21, premium.order_id)
    # A tenant on the free plan at 80% (4 of 5 contacts): no order, usage only.
    await usage(c2, TENANT_BASIC, "owner_contacts", 4)
    # Premium, then Prime while Premium is live: SUBSCRIPTION_UPGRADE, sold by the demo RM.
    await order(c3, TENANT_PREMIUM, 20)
    prime = await order(c3, TENANT_PRIME, 5, rm_id=seller)
    await usage(c3, TENANT_PRIME, "owner_contacts", 12, prime.order_id)
    # An owner's listing boost sold by the demo RM.
    boost = await order(c4, OWNER_LISTING_BOOST, 12, rm_id=seller)
    await usage(c4, OWNER_LISTING_BOOST, "tenant_contacts", 18, boost.order_id)
    # Premium visibility, partly refunded.
    visibility = await order(c5, OWNER_PREMIUM_VISIBILITY, 40)
    await service.apply_refund(conn, principal, now=now - timedelta(days=35), refund=RefundCompleted(
        refund_id=_id("f", 1), order_id=visibility.order_id, amount=Decimal("1000.00"),
        completed_at=now - timedelta(days=35)))
    # A buyer whose Assist plan ran out.
    await expire(await order(c6, BUYER_ASSIST, 100))
    # Premium expired, then bought again within the grace period: SUBSCRIPTION_RENEWAL.
    await expire(await order(c7, TENANT_PREMIUM, 50))
    await order(c7, TENANT_PREMIUM, 3)
