"""Upsell triggers from consumed events (issue 11). They run in the event's transaction next to the usage and
customers handlers of the same types (by module order: customers, upsell, usage)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.customers.schemas import PropertyViewed
from sales.inventory.schemas import ListingStats
from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.orders.schemas import PaymentCompleted, PlanExpired
from sales.upsell import service
from sales.usage.schemas import UsageUpdated


@handles("entitlements.usage.updated")
async def quota_threshold(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """UPR-002 / US-SALE-001: at or above 80% of a quota of the user's current plan -> QUOTA_THRESHOLD upsell
    (IN_APP_MODAL, next tier up raising that quota), once per user, order (else plan) and quota."""
    data = UsageUpdated.model_validate(object_data(event))
    await service.on_usage(conn, user_id=data.user_id, plan_id=data.plan_id, order_id=data.order_id,
                           quota_name=data.quota_name, quota=data.quota, used=data.used, at=data.at,
                           source=f"event:{event.id}", now=event.now)


@handles("engagement.property.viewed")
async def views_without_contact(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """UPR-003: 5 property views without a contact since the user's last upsell -> VIEWS_WITHOUT_CONTACT
    (IN_APP_BANNER). Runs after the customers handler stored this view."""
    data = PropertyViewed.model_validate(object_data(event))
    await service.on_view(conn, user_id=data.user_id, source=f"event:{event.id}", now=event.now)


@handles("billing.payment.completed")
async def payment_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 11: a completed payment naming an upsell converts it (once). An upsell id Sales never made, or one
    of another user, converts nothing (logged; the order is recorded all the same). Without `upsell_id`, the
    user's first payment for a recommended plan within 7 days of the upsell converts it (attribution WINDOW)."""
    data = PaymentCompleted.model_validate(object_data(event))
    if data.upsell_id is None:
        await service.attribute_payment(conn, user_id=data.user_id, order_id=data.order_id,
                                        payment_id=data.payment_id, plan_id=data.plan_id, amount=data.amount,
                                        paid_at=data.paid_at, now=event.now)
        return
    await service.convert_from_payment(conn, upsell_id=data.upsell_id, user_id=data.user_id,
                                       payment_id=data.payment_id, order_id=data.order_id, plan_id=data.plan_id,
                                       amount=data.amount, paid_at=data.paid_at, now=event.now)


@handles("entitlements.plan.expired")
async def plan_expired(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Issue 11 PLAN_EXPIRED: the renewal of the expired plan (IN_APP_BANNER), once per expired order, through the
    gating. Runs after the orders handler marked the order EXPIRED."""
    data = PlanExpired.model_validate(object_data(event))
    await service.on_plan_expired(conn, user_id=data.user_id, plan_id=data.plan_id, order_id=data.order_id,
                                  expired_at=data.expired_at, source=f"event:{event.id}", now=event.now)


@handles("inventory.listing.stats")
async def low_listing_views(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """US-SALE-002 LOW_LISTING_VIEWS: after the inventory handler stored the listing's 7-day views, a listing boost
    offer (PUSH_NOTIFICATION) to its owner when the listing is 7+ days old and below the city average."""
    data = ListingStats.model_validate(object_data(event))
    await service.on_listing_stats(conn, event.principal, listing_id=data.listing_id, source=f"event:{event.id}",
                                   now=event.now)
