"""Plan usage use cases. Never commits."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.catalog.errors import UnknownPlan
from sales.core import audit
from sales.core.auth import Principal
from sales.orders import service as orders_service
from sales.orders.errors import UnknownOrder
from sales.usage import repository, rules
from sales.usage.schemas import UsageMeasurement, UsageRead, UserUsage


async def record_usage(conn: AsyncConnection, *, user_id: UUID, measurement: UsageMeasurement, now: datetime,
                       field_prefix: tuple[str | int, ...] = ()) -> bool:
    """Keep the latest measurement per (user, plan, quota); an older one never replaces a newer one.
    The plan (and the order, when named) must be known; else UnknownPlan / UnknownOrder (a consumed event
    retries: the plan or order may arrive later). True when stored."""
    if await catalog_service.get_plan_facts(conn, measurement.plan_id) is None:
        raise UnknownPlan(measurement.plan_id, loc=(*field_prefix, "plan_id"))
    if measurement.order_id is not None and not await orders_service.order_exists(conn, measurement.order_id):
        raise UnknownOrder(measurement.order_id, loc=(*field_prefix, "order_id"))
    return await repository.upsert_if_newer(conn, {
        "user_id": user_id, "plan_id": measurement.plan_id, "quota_name": measurement.quota_name,
        "order_id": measurement.order_id, "quota": measurement.quota, "used": measurement.used,
        "at": measurement.at, "updated_at": now})


async def backfill_usage(conn: AsyncConnection, principal: Principal, *, user_id: UUID,
                         items: list[UsageMeasurement], now: datetime) -> UserUsage:
    """PUT /usage/{user_id} (SERVICE, SALES_ADMIN): record each measurement (newest wins); audit the stored ones."""
    for i, item in enumerate(items):
        if await record_usage(conn, user_id=user_id, measurement=item, now=now, field_prefix=("items", i)):
            await audit.record(conn, principal, action="usage.recorded", entity_type="plan_usage",
                               entity_id=user_id, at=now, after=item)
    return UserUsage(user_id=user_id, items=await usage_for(conn, user_id))


async def usage_for(conn: AsyncConnection, user_id: UUID) -> list[UsageRead]:
    """The user's latest usage per plan and quota, with the share used in % (for the customer context and
    upsell triggers, UPR-002). Includes plans no longer held: join with orders_service.active_orders_for
    to show the current ones."""
    return [UsageRead(plan_id=r.plan_id, order_id=r.order_id, quota_name=r.quota_name, quota=r.quota, used=r.used,
                      percent=rules.percent_used(quota=r.quota, used=r.used), at=r.at)
            for r in await repository.of_user(conn, user_id)]
